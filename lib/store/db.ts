import { sql as rawSql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type postgres from "postgres";
import * as schema from "./schema";
import { connect, type ConnectOptions } from "../connection/connect";

export type StoreDb = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
/** A store handle or a transaction on it: lib functions accept either. */
export type StoreTx = Parameters<Parameters<StoreDb["transaction"]>[0]>[0];
export type StoreExecutor = StoreDb | StoreTx;

export interface Store {
  db: StoreDb;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export interface StoreOptions {
  max?: number;
  /** Sees every statement the store runs (benches and tests count a page's queries with it). */
  debug?: ConnectOptions["debug"];
}

export function openStore(url: string, options: StoreOptions = {}): Store {
  const sql = connect(url, { max: options.max ?? 10, application: "migration-console store", ...(options.debug ? { debug: options.debug } : {}) });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/**
 * A fixed statement (no parameters, text never changes) run as a prepared statement, so PostgreSQL
 * plans it once per connection instead of on every call: drizzle prepares only builder queries given
 * a name and sends raw SQL unprepared, and a read that every page load makes should not pay its
 * planning each time. In a transaction it runs through drizzle, unprepared.
 */
export async function preparedRows<T extends Record<string, unknown>>(db: StoreExecutor, text: string): Promise<T[]> {
  if (!("$client" in db)) return [...(await db.execute(rawSql.raw(text)))] as T[];
  // Without parameters postgres.js would pick the simple protocol, which cannot prepare.
  const options = { prepare: true, simple: false } as postgres.UnsafeQueryOptions;
  return [...(await db.$client.unsafe<T[]>(text, [], options))];
}
