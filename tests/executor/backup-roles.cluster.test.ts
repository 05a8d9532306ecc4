/**
 * Backups and their restore when the migrating role is not a superuser (as on a managed production
 * server): foreign keys between restored tables are checked as rows go back, and row-level security
 * that would hide rows from the copy stops the backup. Cluster-wide: it creates a role.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations, rollbackMigrations } from "../../lib/executor";
import { adminUrl, freshDatabase, type TestDatabase } from "../support/databases";
import { migrationsFolder, removeFixtureFolders, statements } from "./support";

const ROLE = `mc_backup_migrator_${process.pid}`;
const opened: TestDatabase[] = [];

beforeAll(async () => {
  const admin = postgres(adminUrl(18), { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE ROLE ${ROLE} LOGIN PASSWORD 'x' NOSUPERUSER NOBYPASSRLS`);
  await admin.end();
});
afterAll(async () => {
  removeFixtureFolders();
  for (const db of opened) await db.sql.unsafe(`REASSIGN OWNED BY ${ROLE} TO CURRENT_USER; DROP OWNED BY ${ROLE}`).catch(() => {});
  await Promise.all(opened.map((db) => db.drop()));
  const admin = postgres(adminUrl(18), { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => {});
  await admin.end();
});

/** A database where the migrating role owns everything it creates, and its URL. */
async function targetAsRole(prefix: string, setup: string[], change: string[], down: string[]) {
  const db = await freshDatabase({ prefix });
  opened.push(db);
  await db.sql.unsafe(`GRANT CREATE ON DATABASE "${db.name}" TO ${ROLE}; ALTER SCHEMA public OWNER TO ${ROLE}`);
  const url = new URL(db.url);
  url.username = ROLE;
  url.password = "x";
  const catalog = await loadCatalog(migrationsFolder([{ tag: "0000_setup", up: statements(...setup) }, { tag: "0001_change", up: statements(...change), down: statements(...down) }]));
  await applyMigrations({ url: url.toString(), catalog, actor: "ana", to: "0000_setup" });
  return {
    db,
    apply: () => applyMigrations({ url: url.toString(), catalog, actor: "ana" }),
    rollback: () => rollbackMigrations({ url: url.toString(), catalog, actor: "ana", to: "0000_setup" }),
  };
}

describe("a migrating role that is not a superuser", () => {
  it("restores tables dropped child first: the referenced rows go back before the rows referencing them", async () => {
    const t = await targetAsRole(
      "bk_role_fk",
      [
        "CREATE TABLE clinics (id int PRIMARY KEY, name text)",
        "CREATE TABLE rooms (id int PRIMARY KEY, clinic_id int NOT NULL REFERENCES clinics, label text)",
        "INSERT INTO clinics SELECT g, 'c' || g FROM generate_series(1, 5) g",
        "INSERT INTO rooms SELECT g, 1 + g % 5, 'r' || g FROM generate_series(1, 20) g",
      ],
      ["DROP TABLE rooms, clinics"],
      ["CREATE TABLE clinics (id int PRIMARY KEY, name text)", "CREATE TABLE rooms (id int PRIMARY KEY, clinic_id int NOT NULL REFERENCES clinics, label text)"],
    );
    const read = () => t.db.sql`select (select json_agg(x order by id) from clinics x) c, (select json_agg(x order by id) from rooms x) r`;
    const before = await read();
    await t.apply();
    const rolled = await t.rollback();
    expect(rolled.backups.restored.map((r) => r.table).sort()).toEqual(["public.clinics", "public.rooms"]);
    expect(await read()).toEqual(before);
  });

  it("stops the backup, saying why, when row-level security would hide rows from the copy", async () => {
    const t = await targetAsRole(
      "bk_role_rls",
      [
        "CREATE TABLE notes (id int PRIMARY KEY, clinic int NOT NULL, body text)",
        "INSERT INTO notes SELECT g, g % 3, 'b' || g FROM generate_series(1, 30) g",
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE notes FORCE ROW LEVEL SECURITY",
        "CREATE POLICY one_clinic ON notes USING (clinic = 1)",
      ],
      ["ALTER TABLE notes DROP COLUMN body"],
      ["ALTER TABLE notes ADD COLUMN body text"],
    );
    await expect(t.apply()).rejects.toMatchObject({ code: "backup_failed", message: expect.stringMatching(/row.level security/) });
    const [n] = await t.db.sql<{ n: number }[]>`select count(body)::int as n from notes`;
    expect(n!.n).toBe(30);
  });
});
