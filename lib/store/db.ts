import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type postgres from "postgres";
import * as schema from "./schema";
import { connect } from "../connection/connect";

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
  const sql = connect(url, { max: options.max ?? 10, application: "migration-console store" });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
