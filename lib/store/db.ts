import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export type StoreDb = PostgresJsDatabase<typeof schema>;
/** A store handle or a transaction on it: lib functions accept either. */
export type StoreTx = Parameters<Parameters<StoreDb["transaction"]>[0]>[0];
export type StoreExecutor = StoreDb | StoreTx;

export interface Store {
  db: StoreDb;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function openStore(url: string, options: { max?: number } = {}): Store {
  const sql = postgres(url, { max: options.max ?? 10, onnotice: () => {}, connect_timeout: 10 });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
