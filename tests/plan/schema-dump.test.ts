import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/catalog";
import { applyMigrations } from "../../lib/executor";
import { dumpSchema } from "../../lib/plan/schema-dump";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";

const dbs: TestDatabase[] = [];
afterAll(async () => Promise.all(dbs.map((d) => d.drop())));

async function migrated(server: 15 | 18) {
  const db = await freshDatabase({ server, prefix: "dump" });
  dbs.push(db);
  await applyMigrations({ url: db.url, catalog: await loadCatalog(path.resolve(import.meta.dirname, "../../db/migrations")), actor: "test" });
  return db;
}

describe("pg_dump before an apply", () => {
  it.runIf(hasServer(15))("dumps a PostgreSQL 15 target's schema with the system's pg_dump", async () => {
    const dump = await dumpSchema((await migrated(15)).url);
    expect(dump.ok, dump.ok ? "" : dump.reason).toBe(true);
    if (dump.ok) {
      expect(dump.sql).toContain("CREATE TABLE public.patients");
      expect(dump.sql).toMatch(/ALTER TABLE (ONLY )?public\.patients FORCE ROW LEVEL SECURITY/);
      expect(dump.sql).not.toMatch(/INSERT INTO|COPY public\./);
    }
  });

  it("says why when no installed pg_dump can read the server, without the password", async () => {
    const db = await migrated(18);
    const dump = await dumpSchema(db.url);
    if (dump.ok) expect(dump.sql).toContain("CREATE TABLE public.patients");
    else expect(dump.reason).toMatch(/No pg_dump 18 or newer is installed/);
    expect(JSON.stringify(dump)).not.toContain(new URL(db.url).password);
  });
});
