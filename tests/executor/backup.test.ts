/**
 * Destructive migrations lose nothing: what they destroy is copied and checked before they run, an
 * application role cannot read the copy, a rollback puts every value back (checksum equal), a backup
 * that cannot be written stops the apply before anything is destroyed, and expired copies are purged.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../../db/seed/demo";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations, listBackups, purgeExpiredBackups, readStatus, rollbackMigrations } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { addMigration, advisoryLockHolders, copyOfFolder, failure, migrationsFolder, recorder, removeFixtureFolders, statements, tableExists, waitFor } from "./support";

const opened: TestDatabase[] = [];
afterAll(async () => {
  removeFixtureFolders();
  await Promise.all(opened.map((db) => db.drop()));
});

async function database(prefix: string): Promise<TestDatabase> {
  const db = await freshDatabase({ prefix });
  opened.push(db);
  return db;
}

/** The application role exists cluster-wide once any target ran 0007; fixtures make sure of it. */
const ENSURE_APP_USER = `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_user') THEN
    BEGIN CREATE ROLE app_user NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  END IF;
END $$`;

/** Reads as the application role, the way the application would; returns the SQLSTATE it fails with. */
async function readAsAppUser(db: TestDatabase, query: string): Promise<string | null> {
  try {
    await db.sql.begin(async (tx) => {
      await tx.unsafe("SET LOCAL ROLE app_user");
      await tx.unsafe(query);
    });
    return null;
  } catch (e) {
    return (e as { code?: string }).code ?? "error";
  }
}

const DROP_CNS = {
  tag: "0009_drop_patients_cns",
  up: statements('ALTER TABLE "patients" DROP COLUMN "cns"'),
  down: statements(
    'ALTER TABLE "patients" ADD COLUMN "cns" text',
    'ALTER TABLE "patients" ADD CONSTRAINT "patients_cns_unique" UNIQUE("cns")',
    `ALTER TABLE "patients" ADD CONSTRAINT "patients_cns_format" CHECK ("patients"."cns" ~ '^[0-9]{15}$')`,
  ),
  when: 1_900_000_000_000,
};

describe("dropping patients.cns (tagged identifier) on a seeded target, then rolling back", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  let before: { id: string; cns: string | null }[];

  beforeAll(async () => {
    db = await database("backup_cns");
    const dir = copyOfFolder();
    addMigration(dir, DROP_CNS);
    catalog = await loadCatalog(dir);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0008_performance_indexes" });
    await seedDemoData(db.sql);
    before = await db.sql`select id::text, cns from patients order by id`;
  });

  it("copies every CNS with the patient's key, checks it, and only then drops the column", async () => {
    expect(before.length).toBeGreaterThan(10);
    expect(before.filter((p) => p.cns !== null).length).toBeGreaterThan(10);
    const log = recorder();
    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent: log.onEvent });
    expect(result.migrations).toEqual(["0009_drop_patients_cns"]);
    const [column] = await db.sql`select 1 from information_schema.columns where table_name = 'patients' and column_name = 'cns'`;
    expect(column).toBeUndefined();

    expect(result.backups.taken).toHaveLength(1);
    const taken = result.backups.taken[0]!;
    expect(taken).toMatchObject({ tag: "0009_drop_patients_cns", table: "public.patients", columns: ["cns"], rows: before.length });
    // The backup and its check are logged before the destructive statement runs.
    const order = log.events.map((e) => e.type);
    expect(order.indexOf("backup_taken")).toBeLessThan(order.indexOf("backup_verified"));
    expect(order.indexOf("backup_verified")).toBeLessThan(order.indexOf("statement_finished"));

    const [record] = await listBackups(db.sql);
    expect(record).toMatchObject({ state: "verified", tagged: true, classes: ["identifier"], keyColumns: ["id"], copiedColumns: ["id", "cns"], rows: before.length });
    expect(record!.expiresAt!.getTime() - record!.createdAt.getTime()).toBeCloseTo(30 * 86_400_000, -4);
    const copied = await db.sql.unsafe<{ id: string; cns: string | null }[]>(`select id::text, cns from migration_console_backup."${record!.backupTable}" order by id`);
    expect(copied).toEqual(before);
  });

  it("keeps the copy away from the application role", async () => {
    const [record] = await listBackups(db.sql);
    expect(await readAsAppUser(db, `select * from migration_console_backup."${record!.backupTable}"`)).toBe("42501");
    expect(await readAsAppUser(db, `select * from migration_console.backups`)).toBe("42501");
  });

  it("rolls back with every CNS back in place and the checksum equal", async () => {
    const log = recorder();
    const result = await rollbackMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0008_performance_indexes", onEvent: log.onEvent });
    expect(result.migrations).toEqual(["0009_drop_patients_cns"]);
    expect(result.backups.restored).toEqual([expect.objectContaining({ table: "public.patients", columns: ["cns"], rows: before.length, unmatched: 0 })]);
    const recorded = (await listBackups(db.sql))[0]!.checksum;
    expect(result.backups.restored[0]!.checksum).toBe(recorded);
    expect(log.of("backup_restored")).toHaveLength(1);

    const after = await db.sql`select id::text, cns from patients order by id`;
    expect(after).toEqual(before);
    const [record] = await listBackups(db.sql);
    expect(record).toMatchObject({ state: "restored", restoredRows: before.length });
    expect(await tableExists(db.sql, `migration_console_backup."${record!.backupTable}"`)).toBe(false);
  });
});

describe("dropping a table with rows, then rolling back", () => {
  it("puts every row back and the table's sequence after them", async () => {
    const db = await database("backup_table");
    const catalog = await loadCatalog(
      migrationsFolder([
        {
          tag: "0000_notes",
          up: statements(
            "CREATE TABLE notes (id serial PRIMARY KEY, author text NOT NULL, body text, created_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO notes (author, body) SELECT 'dr ' || g, repeat('x', g % 50) FROM generate_series(1, 300) g",
            "DELETE FROM notes WHERE id % 7 = 0",
          ),
        },
        { tag: "0001_drop_notes", up: statements("DROP TABLE notes"), down: statements("CREATE TABLE notes (id serial PRIMARY KEY, author text NOT NULL, body text, created_at timestamptz NOT NULL DEFAULT now())") },
      ]),
    );
    await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_notes" });
    const before = await db.sql`select * from notes order by id`;
    const applied = await applyMigrations({ url: db.url, catalog, actor: "ana" });
    expect(applied.backups.taken).toEqual([expect.objectContaining({ table: "public.notes", rows: before.length })]);
    expect(await tableExists(db.sql, "public.notes")).toBe(false);

    const rolled = await rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_notes" });
    expect(rolled.backups.restored).toEqual([expect.objectContaining({ table: "public.notes", rowsRemoved: true, rows: before.length })]);
    expect(await db.sql`select * from notes order by id`).toEqual(before);
    const [next] = await db.sql<{ id: number }[]>`insert into notes (author) values ('new') returning id`;
    expect(next!.id).toBeGreaterThan(Math.max(...before.map((r) => r.id as number)));
  });
});

describe("DELETE and UPDATE with a WHERE clause", () => {
  it("copies only the rows the predicate selects, and a rollback puts them back", async () => {
    const db = await database("backup_dml");
    const catalog = await loadCatalog(
      migrationsFolder([
        { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, status text NOT NULL, email text)", "INSERT INTO people SELECT g, CASE WHEN g % 4 = 0 THEN 'inactive' ELSE 'active' END, 'p' || g || '@x' FROM generate_series(1, 100) g") },
        { tag: "0001_cleanup", up: statements("DELETE FROM people p WHERE p.status = 'inactive'", "UPDATE people SET email = NULL WHERE id > 90"), down: statements("SELECT 1") },
      ]),
    );
    await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    const before = await db.sql`select * from people order by id`;
    const applied = await applyMigrations({ url: db.url, catalog, actor: "ana" });
    // Different predicates on one table: every row is copied (documented), once.
    expect(applied.backups.taken).toEqual([expect.objectContaining({ table: "public.people", rows: 100 })]);
    expect((await db.sql`select count(*)::int as n from people`)[0]!.n).toBe(75);
    const rolled = await rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    expect(rolled.backups.restored).toHaveLength(1);
    expect(await db.sql`select * from people order by id`).toEqual(before);
  });

  it("a single DELETE ... WHERE copies just the matching rows", async () => {
    const db = await database("backup_delete");
    const catalog = await loadCatalog(
      migrationsFolder([
        { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, status text NOT NULL)", "INSERT INTO people SELECT g, CASE WHEN g % 4 = 0 THEN 'inactive' ELSE 'active' END FROM generate_series(1, 100) g") },
        { tag: "0001_delete_inactive", up: statements("DELETE FROM people WHERE status = 'inactive'"), down: statements("SELECT 1") },
      ]),
    );
    await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    const applied = await applyMigrations({ url: db.url, catalog, actor: "ana" });
    expect(applied.backups.taken).toEqual([expect.objectContaining({ table: "public.people", rows: 25 })]);
    await rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    expect((await db.sql`select count(*)::int as n from people`)[0]!.n).toBe(100);
  });
});

describe("a backup that cannot be written", () => {
  it("stops the apply before anything is destroyed", async () => {
    const db = await database("backup_fail");
    const catalog = await loadCatalog(
      migrationsFolder([
        { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, cpf text)", "INSERT INTO people SELECT g, lpad(g::text, 11, '0') FROM generate_series(1, 50) g") },
        { tag: "0001_drop_cpf", up: statements("ALTER TABLE people DROP COLUMN cpf"), down: statements("ALTER TABLE people ADD COLUMN cpf text") },
      ]),
    );
    await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    // The backup schema's storage refuses new tables, as a full disk or a broken tablespace would.
    await db.sql.unsafe(`CREATE FUNCTION refuse_backup() RETURNS event_trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE schema_name = 'migration_console_backup' AND command_tag = 'CREATE TABLE AS') THEN
          RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100';
        END IF;
      END $$`);
    await db.sql.unsafe("CREATE EVENT TRIGGER refuse_backup ON ddl_command_end EXECUTE FUNCTION refuse_backup()");

    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana" }));
    expect(error.code).toBe("backup_failed");
    expect(error.message).toMatch(/No space left on device/);
    expect(error.details.leftBehind).toMatch(/nothing was destroyed/);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0001_drop_cpf"]);
    expect((await db.sql`select count(cpf)::int as n from people`)[0]!.n).toBe(50);
    expect((await listBackups(db.sql)).filter((b) => b.state === "verified")).toEqual([]);

    await db.sql.unsafe("DROP EVENT TRIGGER refuse_backup");
    const applied = await applyMigrations({ url: db.url, catalog, actor: "ana" });
    expect(applied.backups.taken).toHaveLength(1);
  });
});

describe("declining the backup", () => {
  it("is recorded on the target and in the run log, and the rollback says the data stays lost", async () => {
    const db = await database("backup_declined");
    const catalog = await loadCatalog(
      migrationsFolder([
        { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, nickname text)", "INSERT INTO people SELECT g, 'n' || g FROM generate_series(1, 10) g") },
        { tag: "0001_drop_nickname", up: statements("ALTER TABLE people DROP COLUMN nickname"), down: statements("ALTER TABLE people ADD COLUMN nickname text") },
      ]),
    );
    await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    const log = recorder();
    const applied = await applyMigrations({ url: db.url, catalog, actor: "ana", backup: { declined: "--no-backup (cli:ana)" }, onEvent: log.onEvent });
    expect(applied.backups.declined).toEqual([expect.objectContaining({ tag: "0001_drop_nickname", reason: "--no-backup (cli:ana)" })]);
    expect(log.of("backup_declined")[0]!.data[0]).toMatch(/public\.people\.nickname/);
    expect(await listBackups(db.sql)).toEqual([expect.objectContaining({ state: "declined", reason: "--no-backup (cli:ana)", backupTable: null })]);
    const rolled = await rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    expect(rolled.backups.notRestored).toEqual([expect.objectContaining({ table: "public.people", reason: expect.stringMatching(/declined/) })]);
  });
});

describe("retention", () => {
  it("purges copies once they expire, not before, and a later rollback says so", async () => {
    const db = await database("backup_purge");
    const catalog = await loadCatalog(
      migrationsFolder([
        { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, cpf text)", "INSERT INTO people SELECT g, lpad(g::text, 11, '0') FROM generate_series(1, 20) g") },
        { tag: "0001_drop_cpf", up: statements("ALTER TABLE people DROP COLUMN cpf"), down: statements("ALTER TABLE people ADD COLUMN cpf text") },
      ]),
    );
    await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    await applyMigrations({ url: db.url, catalog, actor: "ana", backup: { retentionDays: 7 } });
    const [record] = await listBackups(db.sql);
    expect(await purgeExpiredBackups(db.sql, new Date(Date.now() + 6 * 86_400_000))).toEqual([]);
    expect(await tableExists(db.sql, `migration_console_backup."${record!.backupTable}"`)).toBe(true);

    const purged = await purgeExpiredBackups(db.sql, new Date(Date.now() + 8 * 86_400_000));
    expect(purged.map((p) => p.id)).toEqual([record!.id]);
    expect(await tableExists(db.sql, `migration_console_backup."${record!.backupTable}"`)).toBe(false);
    expect((await listBackups(db.sql))[0]).toMatchObject({ state: "purged", purgedAt: expect.any(Date) });

    const rolled = await rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    expect(rolled.backups.notRestored).toEqual([expect.objectContaining({ reason: expect.stringMatching(/purged/) })]);
  });
});

describe("privileges granted by default do not reach the copy", () => {
  it("revokes what default privileges and schema grants would give app_user", async () => {
    const db = await database("backup_grants");
    await db.sql.unsafe(ENSURE_APP_USER);
    await db.sql.unsafe("CREATE SCHEMA migration_console_backup");
    await db.sql.unsafe("GRANT USAGE ON SCHEMA migration_console_backup TO app_user");
    await db.sql.unsafe("ALTER DEFAULT PRIVILEGES IN SCHEMA migration_console_backup GRANT SELECT ON TABLES TO app_user");
    await db.sql.unsafe("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC");
    const catalog = await loadCatalog(
      migrationsFolder([
        { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, cpf text)", "INSERT INTO people VALUES (1, '12345678901')") },
        { tag: "0001_drop_cpf", up: statements("ALTER TABLE people DROP COLUMN cpf"), down: statements("ALTER TABLE people ADD COLUMN cpf text") },
      ]),
    );
    await applyMigrations({ url: db.url, catalog, actor: "ana" });
    const [record] = await listBackups(db.sql);
    expect(await readAsAppUser(db, `select * from migration_console_backup."${record!.backupTable}"`)).toBe("42501");
    const reader = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [acl] = await reader<{ acl: string | null }[]>`select relacl::text as acl from pg_class where oid = ${`migration_console_backup."${record!.backupTable}"`}::regclass`;
      expect(acl!.acl ?? "").not.toMatch(/app_user|=r/);
    } finally {
      await reader.end();
    }
  });
});

describe("the applying process is killed (SIGKILL) between the backup and the destructive statement", () => {
  it("leaves the data and the ledger as before, and a rerun replaces the orphaned copy and completes", async () => {
    const db = await database("backup_sigkill");
    const dir = migrationsFolder([
      { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, cpf text)", "INSERT INTO people SELECT g, lpad(g::text, 11, '0') FROM generate_series(1, 40) g") },
      {
        tag: "0001_drop_cpf",
        up: statements("SELECT pg_sleep(coalesce(current_setting('fixture.sleep_seconds', true), '0')::float8)", "ALTER TABLE people DROP COLUMN cpf"),
        down: statements("ALTER TABLE people ADD COLUMN cpf text"),
      },
    ]);
    const catalog = await loadCatalog(dir);
    await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    const before = await db.sql`select id, cpf from people order by id`;
    await db.sql.unsafe(`ALTER DATABASE "${db.name}" SET fixture.sleep_seconds = '60'`);

    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "fixtures/apply-child.ts"), dir], {
      cwd: path.resolve(__dirname, "../.."),
      env: { ...process.env, TARGET_URL: db.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    child.stdout.on("data", (c: Buffer) => output.push(c.toString()));
    child.stderr.on("data", (c: Buffer) => output.push(c.toString()));
    try {
      const sleeping = await waitFor(async () => (await db.sql`select 1 from pg_stat_activity where datname = current_database() and state = 'active' and query like '%pg_sleep%' and application_name like 'migration-console killed-run%'`).length > 0, 20_000);
      expect(sleeping, output.join("")).not.toBeNull();
      expect(output.join("")).toMatch(/"type":"backup_verified"/);
      child.kill("SIGKILL");
    } finally {
      child.kill("SIGKILL");
    }
    expect(await waitFor(async () => (await advisoryLockHolders(db.sql)).length === 0, 10_000, 100)).not.toBeNull();

    expect((await readStatus(db.url, catalog)).pending).toEqual(["0001_drop_cpf"]);
    expect(await db.sql`select id, cpf from people order by id`).toEqual(before);
    const [orphan] = await listBackups(db.sql);
    expect(orphan).toMatchObject({ runId: "killed-run", state: "verified", rows: 40 });

    await db.sql.unsafe(`ALTER DATABASE "${db.name}" RESET fixture.sleep_seconds`);
    const log = recorder();
    const rerun = await applyMigrations({ url: db.url, catalog, actor: "ana", onEvent: log.onEvent });
    expect(rerun.migrations).toEqual(["0001_drop_cpf"]);
    expect(log.of("backup_discarded").map((e) => e.backupId)).toEqual([orphan!.id]);
    expect(await tableExists(db.sql, `migration_console_backup."${orphan!.backupTable}"`)).toBe(false);
    const states = (await listBackups(db.sql)).map((b) => [b.runId === "killed-run" ? "killed" : "rerun", b.state]);
    expect(states.sort()).toEqual([["killed", "discarded"], ["rerun", "verified"]]);

    await rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_people" });
    expect(await db.sql`select id, cpf from people order by id`).toEqual(before);
  });
});
