import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus, rollbackMigrations } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { failure, fixtureCatalog, historyRows, recorder, removeFixtureFolders, statements, tableExists } from "./support";

describe("the run log of an apply", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_events" });
    catalog = await fixtureCatalog([
      {
        tag: "0000_patients",
        up: statements("CREATE TABLE patients (id int PRIMARY KEY, name text)", "SELECT pg_sleep(0.2)", "INSERT INTO patients VALUES (1, 'Ana')"),
        down: "DROP TABLE patients;\n",
      },
      {
        tag: "0001_patient_name_idx",
        up: statements('CREATE INDEX CONCURRENTLY IF NOT EXISTS "patients_name_idx" ON "patients" ("name")'),
        down: 'DROP INDEX CONCURRENTLY IF EXISTS "patients_name_idx";\n',
      },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("reports each migration and each statement (n of m, with durations) in order", async () => {
    const { onEvent, events } = recorder();
    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", runId: "run-events", onEvent });

    expect(events.map((e) => e.type)).toEqual([
      "run_started",
      "migration_started",
      "statement_finished",
      "statement_finished",
      "statement_finished",
      "migration_finished",
      "migration_started",
      "statement_finished",
      "migration_finished",
      "run_finished",
    ]);
    expect(events[0]).toMatchObject({ type: "run_started", runId: "run-events", direction: "up", migrations: ["0000_patients", "0001_patient_name_idx"], statements: 4 });
    expect(events.filter((e) => e.type === "migration_started")).toMatchObject([
      { tag: "0000_patients", n: 1, of: 2, transactional: true },
      { tag: "0001_patient_name_idx", n: 2, of: 2, transactional: false },
    ]);
    const steps = events.flatMap((e) => (e.type === "statement_finished" ? [e] : []));
    expect(steps.map((s) => [s.tag, s.statement, s.of, s.done, s.total])).toEqual([
      ["0000_patients", 1, 3, 1, 4],
      ["0000_patients", 2, 3, 2, 4],
      ["0000_patients", 3, 3, 3, 4],
      ["0001_patient_name_idx", 1, 1, 4, 4],
    ]);
    expect(steps[0]!.summary).toMatch(/CREATE TABLE .*patients/);
    expect(steps[3]!.summary).toMatch(/CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_name_idx/);

    // Durations are measured, not made up: the sleeping statement shows its 200 ms, and they add up.
    expect(steps[1]!.durationMs).toBeGreaterThanOrEqual(195);
    expect(steps.every((s) => Number.isInteger(s.durationMs) && s.durationMs >= 0)).toBe(true);
    const finished = events.flatMap((e) => (e.type === "migration_finished" ? [e] : []));
    expect(finished.map((f) => f.tag)).toEqual(["0000_patients", "0001_patient_name_idx"]);
    const firstMigrationMs = finished[0]!.durationMs;
    expect(firstMigrationMs).toBeGreaterThanOrEqual(steps.slice(0, 3).reduce((n, s) => n + s.durationMs, 0) - 3);
    expect(events.at(-1)).toMatchObject({ type: "run_finished", runId: "run-events", durationMs: result.durationMs });
    expect(result.durationMs).toBeGreaterThanOrEqual(firstMigrationMs);

    const times = events.map((e) => e.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));

    // The history row (written behind the statements, its time read off the server's clock) says as much.
    const history = await db.sql<{ tag: string; ms: number }[]>`select tag, duration_ms as ms from migration_console.history order by id`;
    expect(history.map((h) => h.tag)).toEqual(["0000_patients", "0001_patient_name_idx"]);
    expect(history[0]!.ms).toBeGreaterThanOrEqual(195);
    expect(history[0]!.ms).toBeLessThanOrEqual(firstMigrationMs + 5);
  });

  it("reports a rollback the same way, newest migration first", async () => {
    const { onEvent, events } = recorder();
    await rollbackMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: null, onEvent });
    expect(events[0]).toMatchObject({ type: "run_started", direction: "down", migrations: ["0001_patient_name_idx", "0000_patients"], statements: 2 });
    expect(events.flatMap((e) => (e.type === "migration_finished" ? [e.tag] : []))).toEqual(["0001_patient_name_idx", "0000_patients"]);
    expect(events.at(-1)?.type).toBe("run_finished");
  });
});

/**
 * The run log lives in the console's store; when that write fails mid-migration, the migration's
 * statements and COMMIT may already be on the wire. The outcome is the target's, and the run stops
 * at the next migration boundary saying exactly what was applied (never "the target is as it was").
 */
describe("a run whose log cannot be written part-way", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_sink" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)") },
      { tag: "0001_allergies", up: statements("CREATE TABLE allergies (id int PRIMARY KEY)", "CREATE INDEX allergies_id_idx ON allergies (id)") },
      { tag: "0002_referrals", up: statements("CREATE TABLE referrals (id int PRIMARY KEY)") },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("stops before the next migration and names what was applied, which the target's ledger confirms", async () => {
    const onEvent = (e: { type: string; tag?: string }) => {
      if (e.type === "statement_finished" && e.tag === "0001_allergies") throw new Error("connection to the console store lost");
    };
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent }));

    expect(error.code).toBe("run_log_failed");
    expect(error.message).toContain("connection to the console store lost");
    expect(error.message).toContain("0000_patients, 0001_allergies were applied and recorded in the target's ledger");
    expect(error.message).toContain("the run stopped before 0002_referrals");
    expect(error.details.leftBehind).toMatch(/0002_referrals and what follows it did not run/);
    expect(await tableExists(db.sql, "public.allergies")).toBe(true);
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_patients", "0001_allergies"]);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0002_referrals"]);
  });

});

describe("a run whose log store failed once", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_sink_once" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)", "CREATE TABLE wards (id int PRIMARY KEY)", "CREATE TABLE beds (id int PRIMARY KEY)") },
      { tag: "0001_allergies", up: statements("CREATE TABLE allergies (id int PRIMARY KEY)") },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("is not written to again (each write could wait out the store's timeout, a transaction open meanwhile), except for the run's failure", async () => {
    let failed = false;
    const tried: string[] = [];
    const onEvent = (e: { type: string }) => {
      if (failed) tried.push(e.type);
      if (failed || e.type === "statement_finished") {
        failed = true;
        throw new Error("connection to the console store lost");
      }
    };
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent }));
    expect(error.code).toBe("run_log_failed");
    expect(error.message).toContain("0000_patients was applied");
    expect(tried).toEqual(["run_failed"]);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_patients"]);
  });
});
