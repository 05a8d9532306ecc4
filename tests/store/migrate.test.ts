import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { migrateStore } from "../../lib/store/migrate";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { STORE_MIGRATIONS } from "../support/store";

describe("the console store's own migrations", () => {
  let db: TestDatabase;
  afterEach(async () => db?.drop());

  it("two instances starting at once both come up, and the schema is applied exactly once", async () => {
    db = await freshDatabase({ prefix: "store" });
    await Promise.all([migrateStore(db.url, STORE_MIGRATIONS), migrateStore(db.url, STORE_MIGRATIONS)]);
    const applied = await db.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const tables = await db.sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
    // One ledger row per store migration: neither instance applied one a second time.
    const journal = JSON.parse(fs.readFileSync(path.join(STORE_MIGRATIONS, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
    expect(applied[0]!.n).toBe(journal.entries.length);
    const hashes = await db.sql`select hash from drizzle.__drizzle_migrations`;
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(journal.entries.length);
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(["approvals", "audit_events", "backfill_progress", "console_sessions", "deployments", "environment_status", "environments", "notification_deliveries", "notifications", "run_events", "runs", "sign_in_throttles", "signing_keys", "users", "verification_snapshots"]),
    );
  });

  it("is idempotent: a restart applies nothing new", async () => {
    db = await freshDatabase({ prefix: "store" });
    await migrateStore(db.url, STORE_MIGRATIONS);
    const [before] = await db.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await migrateStore(db.url, STORE_MIGRATIONS);
    const [after] = await db.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(after!.n).toBe(before!.n);
  });
});
