/**
 * Brings the console's own store to the latest schema. Runs at every start-up; idempotent, and
 * serialised by an advisory lock so two instances starting together do not race.
 */
import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { connect } from "../connection/connect";

/** Arbitrary but fixed: the store's migration lock, distinct from target apply locks. */
const STORE_MIGRATION_LOCK = 7_361_204_001;

export const STORE_MIGRATIONS_DIR = path.join(process.cwd(), "lib/store/migrations");

export async function migrateStore(url: string, migrationsFolder = STORE_MIGRATIONS_DIR): Promise<void> {
  const sql = connect(url, { application: "migration-console store migrate" });
  try {
    await sql`select pg_advisory_lock(${STORE_MIGRATION_LOCK})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder });
    } finally {
      await sql`select pg_advisory_unlock(${STORE_MIGRATION_LOCK})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
