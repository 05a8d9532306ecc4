/**
 * Backups in the cases a migration author writes without thinking of the backup: rows a DELETE
 * removes through foreign keys, a rollback that re-creates a table differently, names resolved
 * through a search_path or renamed earlier in the script, columns dropped with their type. In each
 * one every destroyed value must come back, or the rollback must say it did not and keep the copy.
 */
import { afterAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations, listBackups, rollbackMigrations } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { migrationsFolder, removeFixtureFolders, statements, tableExists } from "./support";

const opened: TestDatabase[] = [];
afterAll(async () => {
  removeFixtureFolders();
  await Promise.all(opened.map((db) => db.drop()));
});

/** A target with `setup` applied (0000) and `change` pending (0001, with its rollback `down`). */
async function target(prefix: string, setup: string[], change: string[], down: string[]) {
  const db = await freshDatabase({ prefix });
  opened.push(db);
  const catalog = await loadCatalog(migrationsFolder([{ tag: "0000_setup", up: statements(...setup) }, { tag: "0001_change", up: statements(...change), down: statements(...down) }]));
  await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_setup" });
  return {
    db,
    apply: () => applyMigrations({ url: db.url, catalog, actor: "ana" }),
    rollback: () => rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_setup" }),
  };
}

describe("a rollback that re-creates a dropped table without one of its columns", () => {
  it("does not report the table restored nor drop the copy that still holds that column", async () => {
    const t = await target(
      "edge_lacks",
      ["CREATE TABLE notes (id int PRIMARY KEY, body text, diagnosis text)", "INSERT INTO notes SELECT g, 'b' || g, 'd' || g FROM generate_series(1, 20) g"],
      ["DROP TABLE notes"],
      ["CREATE TABLE notes (id int PRIMARY KEY, body text)"],
    );
    await t.apply();
    const rolled = await t.rollback();
    expect(rolled.backups.restored).toEqual([]);
    expect(rolled.backups.notRestored).toEqual([expect.objectContaining({ table: "public.notes", reason: expect.stringMatching(/diagnosis/) })]);
    const [record] = await listBackups(t.db.sql);
    expect(record!.state).toBe("verified");
    const copy = await t.db.sql.unsafe(`select id, diagnosis from migration_console_backup."${record!.backupTable}" order by id`);
    expect(copy).toHaveLength(20);
    expect(copy[0]).toEqual({ id: 1, diagnosis: "d1" });
  });
});

describe("a DELETE whose rows are referenced by ON DELETE CASCADE and SET NULL foreign keys", () => {
  it("backs up the referencing rows it removes and the keys it nulls, and a rollback puts every one back", async () => {
    const t = await target(
      "edge_fk",
      [
        "CREATE TABLE patients (id int PRIMARY KEY, status text NOT NULL)",
        "CREATE TABLE appointments (id int PRIMARY KEY, patient_id int NOT NULL REFERENCES patients ON DELETE CASCADE, note text)",
        "CREATE TABLE prescriptions (id int PRIMARY KEY, appointment_id int NOT NULL REFERENCES appointments ON DELETE CASCADE, drug text)",
        "CREATE TABLE invoices (id int PRIMARY KEY, patient_id int REFERENCES patients ON DELETE SET NULL, total int)",
        "INSERT INTO patients SELECT g, CASE WHEN g % 4 = 0 THEN 'inactive' ELSE 'active' END FROM generate_series(1, 40) g",
        "INSERT INTO appointments SELECT g, 1 + g % 40, 'a' || g FROM generate_series(1, 120) g",
        "INSERT INTO prescriptions SELECT g, 1 + g % 120, 'd' || g FROM generate_series(1, 200) g",
        "INSERT INTO invoices SELECT g, 1 + g % 40, g FROM generate_series(1, 80) g",
      ],
      ["DELETE FROM patients p WHERE p.status = 'inactive'"],
      ["SELECT 1"],
    );
    const snapshot = () =>
      t.db.sql`select (select json_agg(x order by id) from patients x) p, (select json_agg(x order by id) from appointments x) a,
        (select json_agg(x order by id) from prescriptions x) r, (select json_agg(x order by id) from invoices x) i`;
    const before = await snapshot();
    const [gone] = await t.db.sql<{ a: number; r: number; i: number }[]>`
      select (select count(*)::int from appointments a join patients p on p.id = a.patient_id where p.status = 'inactive') a,
        (select count(*)::int from prescriptions r join appointments a on a.id = r.appointment_id join patients p on p.id = a.patient_id where p.status = 'inactive') r,
        (select count(*)::int from invoices i join patients p on p.id = i.patient_id where p.status = 'inactive') i`;

    const applied = await t.apply();
    const rows = Object.fromEntries(applied.backups.taken.map((b) => [b.table, b.rows]));
    // Exactly the rows the DELETE reaches through the foreign keys, not every row of those tables.
    expect(rows).toEqual({ "public.patients": 10, "public.appointments": gone!.a, "public.prescriptions": gone!.r, "public.invoices": gone!.i });
    expect(applied.backups.taken.find((b) => b.table === "public.invoices")!.columns).toEqual(["patient_id"]);

    const rolled = await t.rollback();
    expect(rolled.backups.notRestored).toEqual([]);
    expect(rolled.backups.restored.map((r) => r.table).sort()).toEqual(["public.appointments", "public.invoices", "public.patients", "public.prescriptions"]);
    expect(await snapshot()).toEqual(before);
  });
});

describe("names the script resolves its own way", () => {
  it("a column or table renamed earlier in the script, then dropped, is backed up under its name before the script and restored", async () => {
    const t = await target(
      "edge_rename",
      ["CREATE TABLE patients (id int PRIMARY KEY, cns text)", "CREATE TABLE notes (id int PRIMARY KEY, body text)", "INSERT INTO patients SELECT g, lpad(g::text, 15, '7') FROM generate_series(1, 30) g", "INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 30) g"],
      ["ALTER TABLE patients RENAME COLUMN cns TO cns_retired", "ALTER TABLE patients DROP COLUMN cns_retired", "ALTER TABLE notes RENAME TO notes_old", "DROP TABLE notes_old"],
      ["ALTER TABLE patients ADD COLUMN cns text", "CREATE TABLE notes (id int PRIMARY KEY, body text)"],
    );
    const before = await t.db.sql`select (select json_agg(x order by id) from patients x) p, (select json_agg(x order by id) from notes x) n`;
    const applied = await t.apply();
    expect(applied.backups.taken.map((b) => [b.table, b.columns, b.rows])).toEqual([
      ["public.patients", ["cns"], 30],
      ["public.notes", ["id", "body"], 30],
    ]);
    await t.rollback();
    expect(await t.db.sql`select (select json_agg(x order by id) from patients x) p, (select json_agg(x order by id) from notes x) n`).toEqual(before);
  });

  it("an unqualified table in the schema a SET search_path in the script, or the database's search_path, points to", async () => {
    const t = await target(
      "edge_path",
      [
        "CREATE SCHEMA clinical",
        "CREATE TABLE clinical.notes (id int PRIMARY KEY, body text)",
        "CREATE TABLE clinical.exams (id int PRIMARY KEY, result text)",
        "INSERT INTO clinical.notes SELECT g, 'n' || g FROM generate_series(1, 12) g",
        "INSERT INTO clinical.exams SELECT g, 'r' || g FROM generate_series(1, 9) g",
      ],
      ["DROP TABLE exams", "SET search_path TO clinical", "DROP TABLE notes", "RESET search_path"],
      ["CREATE TABLE clinical.notes (id int PRIMARY KEY, body text)", "CREATE TABLE clinical.exams (id int PRIMARY KEY, result text)"],
    );
    await t.db.sql.unsafe(`ALTER DATABASE "${t.db.name}" SET search_path = clinical, public`);
    const before = await t.db.sql`select (select json_agg(x order by id) from clinical.notes x) n, (select json_agg(x order by id) from clinical.exams x) e`;
    const applied = await t.apply();
    expect(applied.backups.taken.map((b) => [b.table, b.rows]).sort()).toEqual([["clinical.exams", 9], ["clinical.notes", 12]]);
    await t.rollback();
    expect(await t.db.sql`select (select json_agg(x order by id) from clinical.notes x) n, (select json_agg(x order by id) from clinical.exams x) e`).toEqual(before);
  });

  it("a DELETE whose WHERE names a column the script adds first is backed up (every row, then the rows it removed) instead of stopping the apply", async () => {
    const t = await target(
      "edge_newcol",
      ["CREATE TABLE people (id int PRIMARY KEY, status text NOT NULL)", "INSERT INTO people SELECT g, CASE WHEN g % 3 = 0 THEN 'gone' ELSE 'here' END FROM generate_series(1, 30) g"],
      ["ALTER TABLE people ADD COLUMN leaving boolean GENERATED ALWAYS AS (status = 'gone') STORED", "DELETE FROM people WHERE leaving"],
      ["ALTER TABLE people DROP COLUMN leaving"],
    );
    const before = await t.db.sql`select * from people order by id`;
    const applied = await t.apply();
    expect(applied.backups.taken).toEqual([expect.objectContaining({ table: "public.people", rows: 10 })]);
    expect((await t.db.sql`select count(*)::int as n from people`)[0]!.n).toBe(20);
    await t.rollback();
    expect(await t.db.sql`select * from people order by id`).toEqual(before);
  });
});

describe("columns dropped with their type", () => {
  it("DROP TYPE ... CASCADE and DROP DOMAIN ... CASCADE back up every column of that type (arrays and domains over it too)", async () => {
    const t = await target(
      "edge_type",
      [
        "CREATE TYPE triage AS ENUM ('green', 'yellow', 'red')",
        "CREATE DOMAIN cns_code AS text CHECK (VALUE ~ '^[0-9]{15}$')",
        "CREATE TABLE visits (id int PRIMARY KEY, level triage, history triage[], cns cns_code, note text)",
        "INSERT INTO visits SELECT g, (ARRAY['green', 'yellow', 'red'])[1 + g % 3]::triage, ARRAY['red']::triage[], lpad(g::text, 15, '0'), 'n' || g FROM generate_series(1, 25) g",
      ],
      ["DROP TYPE triage CASCADE", "DROP DOMAIN public.cns_code CASCADE"],
      [
        "CREATE TYPE triage AS ENUM ('green', 'yellow', 'red')",
        "CREATE DOMAIN cns_code AS text CHECK (VALUE ~ '^[0-9]{15}$')",
        "ALTER TABLE visits ADD COLUMN level triage, ADD COLUMN history triage[], ADD COLUMN cns cns_code",
      ],
    );
    const read = () => t.db.sql`select id, level::text, history::text, cns::text, note from visits order by id`;
    const before = await read();
    const applied = await t.apply();
    expect(applied.backups.taken.map((b) => [b.table, b.columns.sort(), b.rows])).toEqual([["public.visits", ["cns", "history", "level"], 25]]);
    const rolled = await t.rollback();
    expect(rolled.backups.notRestored).toEqual([]);
    expect(await read()).toEqual(before);
  });
});

describe("a non-transactional migration that destroyed data, stopped part-way, and was resumed", () => {
  it("keeps the first run's backup of what its committed part destroyed, and the rollback restores it with the rest", async () => {
    const t = await target(
      "edge_resume",
      [
        "CREATE TABLE people (id int PRIMARY KEY, code text NOT NULL, cpf text)",
        "CREATE TABLE visits (id int PRIMARY KEY, status text NOT NULL)",
        "INSERT INTO people SELECT g, 'c' || g, lpad(g::text, 11, '0') FROM generate_series(1, 40) g",
        "UPDATE people SET code = 'c1' WHERE id = 2",
        "INSERT INTO visits SELECT g, CASE WHEN g % 5 = 0 THEN 'cancelled' ELSE 'done' END FROM generate_series(1, 40) g",
      ],
      ["ALTER TABLE people DROP COLUMN cpf", 'CREATE UNIQUE INDEX CONCURRENTLY "people_code_key" ON people (code)', "DELETE FROM visits WHERE status = 'cancelled'"],
      ['DROP INDEX IF EXISTS "people_code_key"', "ALTER TABLE people ADD COLUMN cpf text"],
    );
    // The unique build fails on the duplicate code: the DROP COLUMN committed, the DELETE did not run.
    await expect(t.apply()).rejects.toThrow(/people_code_key|unique/);
    await t.db.sql`update people set code = 'c2' where id = 2`;
    const read = () => t.db.sql`select (select json_agg(x order by id) from people x) p, (select json_agg(x order by id) from visits x) v`;
    const resumed = await t.apply();
    expect(resumed.backups.taken).toEqual([expect.objectContaining({ table: "public.visits", rows: 8 })]);

    const rolled = await t.rollback();
    expect(rolled.backups.notRestored).toEqual([]);
    // The first run's copy of visits (its DELETE had not run) is kept too: which of its statements had
    // committed is not known per backup, so every copy it took passes to the resuming run.
    expect(rolled.backups.restored.map((r) => [r.table, r.columns])).toContainEqual(["public.people", ["cpf"]]);
    const [after] = await read();
    expect(after!.p).toEqual(Array.from({ length: 40 }, (_, i) => ({ id: i + 1, code: `c${i + 1}`, cpf: String(i + 1).padStart(11, "0") })));
    expect(after!.v).toHaveLength(40);
  });
});

describe("a DELETE whose WHERE cannot be evaluated ahead (now()), so every row is copied", () => {
  it("keeps only the rows the DELETE removed: a rollback neither brings back a row erased since nor fails on a row edited since", async () => {
    const t = await target(
      "edge_everyrow",
      [
        "CREATE TABLE visits (id int PRIMARY KEY, seen_at timestamptz NOT NULL, note text)",
        "INSERT INTO visits SELECT g, now() - make_interval(years => g % 10), 'n' || g FROM generate_series(1, 50) g",
      ],
      ["DELETE FROM visits WHERE seen_at < now() - interval '5 years 1 day'"],
      ["SELECT 1"],
    );
    const [old] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from visits where seen_at < now() - interval '5 years 1 day'`;
    const applied = await t.apply();
    expect(applied.backups.taken).toEqual([expect.objectContaining({ table: "public.visits", rows: old!.n })]);
    const [record] = await listBackups(t.db.sql);
    expect(record).toMatchObject({ rows: old!.n });

    // After the migration, the application erases one patient's visit and edits another.
    await t.db.sql`delete from visits where id = 1`;
    await t.db.sql`update visits set note = 'edited' where id = 2`;
    const rolled = await t.rollback();
    expect(rolled.backups.restored).toEqual([expect.objectContaining({ table: "public.visits", rows: old!.n })]);
    const rows = await t.db.sql<{ id: number; note: string }[]>`select id, note from visits order by id`;
    expect(rows.map((r) => r.id)).not.toContain(1);
    expect(rows.find((r) => r.id === 2)!.note).toBe("edited");
    expect(rows).toHaveLength(49);
  });
});

describe("a copy changed after it was checked", () => {
  it("fails the rollback's restore, keeping the copy, instead of restoring what is left of it", async () => {
    const t = await target(
      "edge_tamper",
      ["CREATE TABLE patients (id int PRIMARY KEY, cns text)", "INSERT INTO patients SELECT g, lpad(g::text, 15, '7') FROM generate_series(1, 30) g"],
      ["ALTER TABLE patients DROP COLUMN cns"],
      ["ALTER TABLE patients ADD COLUMN cns text"],
    );
    await t.apply();
    const [record] = await listBackups(t.db.sql);
    await t.db.sql.unsafe(`delete from migration_console_backup."${record!.backupTable}" where id = 7`);
    await expect(t.rollback()).rejects.toMatchObject({ code: "restore_failed", message: expect.stringMatching(/patients/) });
    expect((await listBackups(t.db.sql))[0]!.state).toBe("verified");
    expect(await tableExists(t.db.sql, `migration_console_backup."${record!.backupTable}"`)).toBe(true);
  });
});

describe("the rows a whole-table DELETE reaches through an ON DELETE CASCADE foreign key", () => {
  it("are narrowed to the ones it removed, so a rollback does not bring back a child row erased since", async () => {
    const t = await target(
      "edge_everyrow_fk",
      [
        "CREATE TABLE patients (id int PRIMARY KEY, seen_at timestamptz NOT NULL)",
        "CREATE TABLE notes (id int PRIMARY KEY, patient_id int NOT NULL REFERENCES patients ON DELETE CASCADE, body text)",
        "INSERT INTO patients SELECT g, now() - make_interval(years => g % 10) FROM generate_series(1, 20) g",
        "INSERT INTO notes SELECT g, 1 + g % 20, 'b' || g FROM generate_series(1, 60) g",
      ],
      ["DELETE FROM patients WHERE seen_at < now() - interval '5 years 1 day'"],
      ["SELECT 1"],
    );
    const [gone] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from notes n join patients p on p.id = n.patient_id where p.seen_at < now() - interval '5 years 1 day'`;
    const applied = await t.apply();
    expect(applied.backups.taken.find((b) => b.table === "public.notes")).toMatchObject({ rows: gone!.n });
    const [survivor] = await t.db.sql<{ id: number }[]>`select id from notes order by id limit 1`;
    await t.db.sql`delete from notes where id = ${survivor!.id}`;
    await t.rollback();
    const [after] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from notes`;
    expect(after!.n).toBe(59);
    expect(await t.db.sql`select 1 from notes where id = ${survivor!.id}`).toHaveLength(0);
  });
});

describe("statements that delete or overwrite rows without saying DELETE or UPDATE", () => {
  it("MERGE ... THEN DELETE / THEN UPDATE and INSERT ... ON CONFLICT DO UPDATE are backed up and a rollback puts the old rows back", async () => {
    const t = await target(
      "edge_merge",
      [
        "CREATE TABLE patients (id int PRIMARY KEY, name text, cns text)",
        "CREATE TABLE codes (id int PRIMARY KEY, label text)",
        "CREATE TABLE incoming (id int PRIMARY KEY, name text, gone boolean NOT NULL)",
        "INSERT INTO patients SELECT g, 'p' || g, lpad(g::text, 15, '1') FROM generate_series(1, 30) g",
        "INSERT INTO codes SELECT g, 'old ' || g FROM generate_series(1, 10) g",
        "INSERT INTO incoming SELECT g, 'new ' || g, g % 3 = 0 FROM generate_series(1, 30, 2) g",
      ],
      [
        "MERGE INTO patients p USING incoming i ON p.id = i.id WHEN MATCHED AND i.gone THEN DELETE WHEN MATCHED THEN UPDATE SET name = i.name, cns = NULL",
        "INSERT INTO codes (id, label) SELECT g, 'new ' || g FROM generate_series(1, 12) g ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label",
      ],
      ["DELETE FROM codes WHERE id > 10"],
    );
    const read = () => t.db.sql`select (select json_agg(x order by id) from patients x) p, (select json_agg(x order by id) from codes x) c`;
    const before = await read();
    const applied = await t.apply();
    expect(applied.backups.taken.map((b) => b.table).sort()).toEqual(["public.codes", "public.patients"]);
    const rolled = await t.rollback();
    expect(rolled.backups.notRestored).toEqual([]);
    expect(await read()).toEqual(before);
  });
});

describe("a table rebuilt under its own name (copy, drop, rename)", () => {
  it("keeps every row of the dropped table in its copy, though the new table holds the same rows", async () => {
    const t = await target(
      "edge_rebuild",
      ["CREATE TABLE notes (id int PRIMARY KEY, body text)", "INSERT INTO notes SELECT g, 'b' || g FROM generate_series(1, 20) g"],
      ["CREATE TABLE notes_new (id bigint PRIMARY KEY, body text)", "INSERT INTO notes_new SELECT * FROM notes", "DROP TABLE notes", "ALTER TABLE notes_new RENAME TO notes"],
      ["DROP TABLE notes", "CREATE TABLE notes (id int PRIMARY KEY, body text)"],
    );
    const before = await t.db.sql`select * from notes order by id`;
    const applied = await t.apply();
    expect(applied.backups.taken).toEqual([expect.objectContaining({ table: "public.notes", rows: 20 })]);
    await t.rollback();
    expect(await t.db.sql`select * from notes order by id`).toEqual(before);
  });
});
