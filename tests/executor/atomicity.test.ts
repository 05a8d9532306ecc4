import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus, rollbackMigrations } from "../../lib/executor";
import { snapshotSchema } from "../../lib/introspect/schema-snapshot";
import { adminUrl, freshDatabase, type TestDatabase } from "../support/databases";
import { drizzleRows, failure, fixtureCatalog, historyRows, positionOf, recorder, removeFixtureFolders, statements, tableExists } from "./support";

const BASE = { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, active boolean NOT NULL DEFAULT true)") };

/** Three statements; the third fails, with an error cursor two lines into it. */
const MISSING_TABLE = statements(
  "CREATE TABLE referrals (\n  id int PRIMARY KEY,\n  patient_id int NOT NULL REFERENCES patients\n)",
  "CREATE INDEX referrals_patient_idx ON referrals (patient_id)",
  "INSERT INTO referrals (id, patient_id)\n  SELECT id, id\n    FROM patients_archive",
);

/** Three statements; the third fails at run time, where PostgreSQL gives no cursor. */
const CHECK_VIOLATION = statements(
  "CREATE TABLE scores (patient_id int PRIMARY KEY REFERENCES patients, risk int NOT NULL CHECK (risk BETWEEN 0 AND 100))",
  "ALTER TABLE patients ADD COLUMN risk int",
  "INSERT INTO scores (patient_id, risk) SELECT id, 150 FROM patients",
);

/**
 * The second of four statements fails. The executor sends a transaction's statements together, so
 * the two after it reach the server too and fail only as "current transaction is aborted": the
 * error must still be the second statement's own.
 */
const FAILS_MID_TRANSACTION = statements(
  "CREATE TABLE allergies (id int PRIMARY KEY, patient_id int NOT NULL REFERENCES patients)",
  "ALTER TABLE allergies ADD CONSTRAINT allergies_patient_fk FOREIGN KEY (patient_id) REFERENCES no_such_table (id)",
  "CREATE INDEX allergies_patient_idx ON allergies (patient_id)",
  "INSERT INTO allergies (id, patient_id) SELECT id, id FROM patients",
);

describe.each([
  { name: "an error with a cursor (unknown relation)", up: MISSING_TABLE, at: "patients_archive", message: 'relation "patients_archive" does not exist', sqlstate: "42P01", statement: 3 },
  { name: "a run-time error without a cursor (check violation)", up: CHECK_VIOLATION, at: "INSERT INTO scores", message: 'violates check constraint "scores_risk_check"', sqlstate: "23514", statement: 3 },
  { name: "statements after it (sent with it)", up: FAILS_MID_TRANSACTION, at: "ALTER TABLE allergies", message: 'relation "no_such_table" does not exist', sqlstate: "42P01", statement: 2 },
])("a transactional migration whose statement $statement fails: $name", ({ up, at, message, sqlstate, statement }) => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_atomic" });
    catalog = await fixtureCatalog([BASE, { tag: "0001_breaks", up }]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_patients" });
    await db.sql`insert into patients (id) values (1), (2)`;
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("leaves the catalog exactly as before, records nothing, and points at the failing line and column", async () => {
    const before = await snapshotSchema(db.sql);
    const ledgerBefore = await drizzleRows(db.sql);
    const { onEvent, events } = recorder();

    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent }));

    expect(error.code).toBe("sql_error");
    const where = positionOf(up, at);
    expect(error.details).toMatchObject({ tag: "0001_breaks", statement, line: where.line, column: where.column, sqlstate });
    expect(error.details.file).toMatch(/0001_breaks\.sql$/);
    expect(error.message).toContain(`0001_breaks.sql:${where.line}:${where.column}: `);
    expect(error.message).toContain(message);
    expect(error.details.leftBehind).toMatch(/not recorded as applied and the target is as it was before it/);

    expect(await snapshotSchema(db.sql)).toEqual(before);
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);
    expect(await tableExists(db.sql, "public.scores")).toBe(false);
    expect(await tableExists(db.sql, "public.allergies")).toBe(false);
    expect(await drizzleRows(db.sql)).toEqual(ledgerBefore);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_patients"]);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0001_breaks"]);

    // The run log says so too: the statements before it ran, then the run failed, and no migration finished.
    const ran = Array.from({ length: statement - 1 }, () => "statement_finished");
    expect(events.map((e) => e.type)).toEqual(["run_started", "migration_started", ...ran, "run_failed"]);
    expect(events.at(-1)).toMatchObject({ type: "run_failed", error: { code: "sql_error", statement } });
    expect(error.message).not.toMatch(/transaction is aborted/);
  });
});

/** postgres.js keeps at most 100 queries on the wire per connection and queues the rest; a transaction may be longer. */
describe("a transaction of more statements than postgres.js pipelines at once", () => {
  let db: TestDatabase;
  const columns = Array.from({ length: 150 }, (_, i) => `ALTER TABLE patients ADD COLUMN c${i} int`);

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_long_tx" });
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("applies every statement in one transaction, and a failure at statement 140 leaves none of them", async () => {
    const failing = await fixtureCatalog([BASE, { tag: "0001_wide", up: statements(...columns.slice(0, 139), "ALTER TABLE patients ADD COLUMN c0 int", ...columns.slice(139)) }]);
    await applyMigrations({ url: db.url, catalog: failing, actor: "ana@clinic.example", to: "0000_patients" });
    const before = await snapshotSchema(db.sql);
    const { onEvent, of } = recorder();
    const error = await failure(applyMigrations({ url: db.url, catalog: failing, actor: "ana@clinic.example", onEvent }));
    expect(error.code).toBe("sql_error");
    expect(error.details).toMatchObject({ tag: "0001_wide", statement: 140, sqlstate: "42701" });
    expect(of("statement_finished")).toHaveLength(139);
    expect(await snapshotSchema(db.sql)).toEqual(before);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_patients"]);

    const wide = await fixtureCatalog([BASE, { tag: "0001_wide", up: statements(...columns) }]);
    const { onEvent: onApplied, of: applied } = recorder();
    await applyMigrations({ url: db.url, catalog: wide, actor: "ana@clinic.example", onEvent: onApplied });
    expect(applied("statement_finished").map((e) => e.statement)).toEqual(columns.map((_, i) => i + 1));
    const [{ n } = { n: 0 }] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from information_schema.columns where table_name = 'patients' and column_name like 'c%'`;
    expect(n).toBe(150);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_patients", "0001_wide"]);
  });
});

/** A deferred constraint is checked only at COMMIT: every statement succeeds, and PostgreSQL refuses the COMMIT. */
describe("a transactional migration whose COMMIT PostgreSQL refuses", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_commit" });
    catalog = await fixtureCatalog([
      BASE,
      {
        tag: "0001_referrals",
        up: statements(
          "CREATE TABLE referrals (id int PRIMARY KEY, patient_id int NOT NULL REFERENCES patients DEFERRABLE INITIALLY DEFERRED)",
          "INSERT INTO referrals (id, patient_id) VALUES (1, 999)",
        ),
      },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_patients" });
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("fails the migration naming it and the constraint, records nothing, and leaves the target as it was", async () => {
    const before = await snapshotSchema(db.sql);
    const { onEvent, events } = recorder();
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent }));

    expect(error.code).toBe("sql_error");
    expect(error.details).toMatchObject({ tag: "0001_referrals", sqlstate: "23503" });
    expect(error.message).toContain("refused the COMMIT of 0001_referrals");
    expect(error.message).toContain("referrals_patient_id_fkey");
    expect(error.details.leftBehind).toMatch(/not recorded as applied and the target is as it was before it/);
    expect(await snapshotSchema(db.sql)).toEqual(before);
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_patients"]);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0001_referrals"]);
    expect(events.map((e) => e.type)).not.toContain("migration_finished");
  });
});

describe("a rollback whose down file fails part-way", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_down_fails" });
    catalog = await fixtureCatalog([
      BASE,
      { tag: "0001_allergies", up: statements("CREATE TABLE allergies (id int PRIMARY KEY)"), down: statements("DROP TABLE allergies", "DROP TABLE no_such_table") },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("says the migration is still applied and the target as it was before the rollback", async () => {
    const error = await failure(rollbackMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_patients" }));
    expect(error.code).toBe("sql_error");
    expect(error.details).toMatchObject({ tag: "0001_allergies", statement: 2, sqlstate: "42P01" });
    expect(error.details.leftBehind).toBe("0001_allergies is still recorded as applied and the target is as it was before the rollback.");
    expect(await tableExists(db.sql, "public.allergies")).toBe(true);
    expect((await readStatus(db.url, catalog)).current).toBe("0001_allergies");
  });
});

/**
 * A migration that leaves its session unable to write the run's own rows (here a SET ROLE to a role
 * with no access to the ledger): the statements ran, the ledger write is refused. The user must
 * learn which migration, that nothing of its transaction stayed, and what did, not only
 * "permission denied for schema drizzle".
 */
describe("a migration after which its ledger row cannot be written", () => {
  let db: TestDatabase;
  let role: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_ledger_refused" });
    role = `no_ledger_${db.name}`;
    await db.sql.unsafe(`CREATE ROLE "${role}" NOLOGIN`);
  });
  afterAll(async () => {
    await db?.drop();
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`DROP ROLE IF EXISTS "${role}"`).finally(() => admin.end());
    removeFixtureFolders();
  });

  it("an apply: names the migration, says its transaction was rolled back, and leaves it pending", async () => {
    const catalog = await fixtureCatalog([BASE, { tag: "0001_allergies", up: statements("CREATE TABLE allergies (id int PRIMARY KEY)", `SET ROLE "${role}"`) }]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_patients" });
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.code).toBe("sql_error");
    expect(error.details).toMatchObject({ tag: "0001_allergies", sqlstate: "42501" });
    expect(error.message).toMatch(/^0001_allergies\.sql: PostgreSQL refused to record 0001_allergies as applied in the target's ledger, so its transaction was rolled back: permission denied/);
    expect(error.details.leftBehind).toBe("0001_allergies is not recorded as applied and the target is as it was before it.");
    expect(await tableExists(db.sql, "public.allergies")).toBe(false);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0001_allergies"]);
  });

  it("a migration with an index build: what committed is listed, the index is taken back, and status says partially applied", async () => {
    const catalog = await fixtureCatalog([
      BASE,
      { tag: "0001_visits", up: statements("CREATE TABLE visits (id int PRIMARY KEY, patient_id int)", "CREATE INDEX CONCURRENTLY visits_patient_idx ON visits (patient_id)", `SET ROLE "${role}"`) },
    ]);
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.details).toMatchObject({ tag: "0001_visits", sqlstate: "42501" });
    expect(error.message).toContain("refused to record 0001_visits as applied");
    expect(error.details.leftBehind).toMatch(/^0001_visits is not recorded as applied, but these statements had committed before the failure and were not undone: CREATE TABLE public\.visits \(indexes it had built were dropped: public\.visits_patient_idx\)/);
    expect(await tableExists(db.sql, "public.visits")).toBe(true);
    expect(await tableExists(db.sql, "public.visits_patient_idx")).toBe(false);
    const status = await readStatus(db.url, catalog);
    expect(status.migrations.find((m) => m.tag === "0001_visits")).toMatchObject({ state: "partially_applied", partial: { statementsDone: 1 } });
  });

  it("a rollback: names the migration and leaves it recorded as applied", async () => {
    const catalog = await fixtureCatalog([BASE, { tag: "0001_notes", up: statements("CREATE TABLE notes (id int PRIMARY KEY)"), down: statements("COMMENT ON TABLE notes IS 'rolled back'", `SET ROLE "${role}"`) }]);
    const fresh = await freshDatabase({ prefix: "exec_ledger_refused_down" });
    try {
      await applyMigrations({ url: fresh.url, catalog, actor: "ana@clinic.example" });
      const error = await failure(rollbackMigrations({ url: fresh.url, catalog, actor: "ana@clinic.example", to: "0000_patients" }));
      expect(error.details).toMatchObject({ tag: "0001_notes", sqlstate: "42501" });
      // The rollback's first own write on the target (looking up backups to restore) is the one refused.
      expect(error.code).toBe("restore_failed");
      expect(error.message).toMatch(/^Looking up and restoring the backups taken when 0001_notes was applied failed, so the rollback's transaction was rolled back: permission denied/);
      expect(error.details.leftBehind).toBe("0001_notes is still recorded as applied and the target is as it was before the rollback.");
      const [comment] = await fresh.sql<{ c: string | null }[]>`select obj_description('public.notes'::regclass, 'pg_class') as c`;
      expect(comment!.c).toBeNull();
      expect((await readStatus(fresh.url, catalog)).current).toBe("0001_notes");
    } finally {
      await fresh.drop();
    }
  });
});
