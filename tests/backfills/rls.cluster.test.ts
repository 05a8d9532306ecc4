/**
 * The runner must see every clinic's rows: under FORCE ROW LEVEL SECURITY a role that neither is a
 * superuser nor has BYPASSRLS is refused before any row changes, with a message naming the role; the
 * same role with BYPASSRLS is accepted. Cluster-wide: it creates a role (and grants it BYPASSRLS).
 */
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBackfill } from "../../lib/backfills/definition";
import { connectTarget, inspectTarget } from "../../lib/backfills/target";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { adminUrl, freshDatabase, type TestDatabase } from "../support/databases";

const root = path.resolve(import.meta.dirname, "../..");
const ROLE = `bf_migrator_${process.pid}`;
let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase({ prefix: "bf_rls" });
  await applyMigrations({ url: db.url, catalog: await loadCatalog(path.join(root, "db/migrations")), actor: "test-setup" });
  await db.sql.unsafe(`CREATE ROLE ${ROLE} LOGIN PASSWORD 'x' NOSUPERUSER NOBYPASSRLS; GRANT USAGE ON SCHEMA public TO ${ROLE}; GRANT SELECT, UPDATE ON public.patients TO ${ROLE}`);
}, 60_000);
afterAll(async () => {
  await db?.sql.unsafe(`REASSIGN OWNED BY ${ROLE} TO CURRENT_USER; DROP OWNED BY ${ROLE}`).catch(() => {});
  await db?.drop();
  const admin = postgres(adminUrl(18), { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => {});
  await admin.end();
});

function asRole() {
  const url = new URL(db.url);
  url.username = ROLE;
  url.password = "x";
  return connectTarget(url.toString(), "rls-test");
}

describe("row level security and the backfill's connection", () => {
  it("refuses a role that would see only some clinics' rows, and accepts it with BYPASSRLS", async () => {
    const definition = await loadBackfill(path.join(root, "db/backfills"), "anonymize-expired-patients");
    const limited = asRole();
    try {
      await expect(inspectTarget(limited, definition)).rejects.toThrow(
        new RegExp(`public.patients has row level security \\(FORCEd\\) and the target connection's role ${ROLE} neither is a superuser nor has BYPASSRLS`),
      );
    } finally {
      await limited.end();
    }
    await db.sql.unsafe(`ALTER ROLE ${ROLE} BYPASSRLS`);
    const bypassing = asRole();
    try {
      expect(await inspectTarget(bypassing, definition)).toMatchObject({ keyType: "uuid", connectedAs: ROLE });
    } finally {
      await bypassing.end();
    }
  }, 60_000);
});
