import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus, type ExecutorOptions } from "../../lib/executor";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";
import {
  advisoryLockHolders,
  drizzleRows,
  historyRows,
  indexIsValid,
  invalidIndexes,
  migrationsFolder,
  recorder,
  removeFixtureFolders,
  statements,
  tableExists,
  waitFor,
} from "./support";

const CHILD = path.join(__dirname, "fixtures/apply-child.ts");
const ROOT = path.resolve(__dirname, "../..");

/** Applies `dir` in a separate process, and SIGKILLs it once `busy` sees its statement running on the server. */
async function applyAndKill(db: TestDatabase, dir: string, busy: string, options?: Partial<ExecutorOptions>): Promise<{ freedAfterMs: number | null }> {
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD, dir], {
    cwd: ROOT,
    env: { ...process.env, TARGET_URL: db.url, ...(options ? { EXECUTOR_OPTIONS: JSON.stringify(options) } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));

    const running = await waitFor(async () => {
      const rows = await db.sql`
        select 1 from pg_stat_activity
        where datname = current_database() and application_name like 'migration-console killed-run%'
          and state = 'active' and query like ${`%${busy}%`}`;
      return rows.length > 0;
    }, 20_000);
    expect(running, `the child never reached "${busy}":\n${output.join("")}`).not.toBeNull();
    expect(await advisoryLockHolders(db.sql)).toHaveLength(1);

    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
  } finally {
    child.kill("SIGKILL");
  }
  // PostgreSQL notices the dead client by itself (no pg_terminate_backend: an operator would not do it).
  const freedAfterMs = await waitFor(async () => (await advisoryLockHolders(db.sql)).length === 0, 10_000, 100);
  return { freedAfterMs };
}

/**
 * The slow statement sleeps as long as the database setting says: a minute while the child runs (far longer
 * than the test waits, so only the server noticing the dead client can free the target), nothing on the rerun.
 */
const SLOW = statements(
  "CREATE TABLE half_done (id int PRIMARY KEY)",
  "SELECT pg_sleep(coalesce(current_setting('fixture.sleep_seconds', true), '0')::float8)",
  "ALTER TABLE base ADD COLUMN finished boolean",
);

afterAll(() => removeFixtureFolders());

describe.each([18, 15] as const)("the applying process is killed (SIGKILL) inside a transactional migration on PostgreSQL %i", (server) => {
  let db: TestDatabase;
  let catalog: Catalog;
  let dir: string;

  beforeAll(async () => {
    if (!hasServer(server)) return;
    db = await freshDatabase({ server, prefix: `exec_sigkill${server}` });
    dir = migrationsFolder([
      { tag: "0000_base", up: statements("CREATE TABLE base (id int PRIMARY KEY)") },
      { tag: "0001_slow", up: SLOW },
    ]);
    catalog = await loadCatalog(dir);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_base" });
  });
  afterAll(async () => db?.drop());

  // applyAndKill waits up to 20 s + 10 s; the rerun comes on top.
  it.runIf(hasServer(server))("leaves the target consistent and unlocked, and a rerun completes", { timeout: 60_000 }, async () => {
    await db.sql.unsafe(`ALTER DATABASE "${db.name}" SET fixture.sleep_seconds = '60'`);
    const { freedAfterMs } = await applyAndKill(db, dir, "pg_sleep");
    expect(freedAfterMs, "the killed run still holds the apply lock").not.toBeNull();
    console.info(`SIGKILL in a transaction on PostgreSQL ${server}: apply lock free ${freedAfterMs!.toFixed(0)} ms after the kill`);

    const status = await readStatus(db.url, catalog);
    expect(status.migrations.map((m) => [m.tag, m.state])).toEqual([
      ["0000_base", "applied"],
      ["0001_slow", "pending"],
    ]);
    expect(await tableExists(db.sql, "public.half_done")).toBe(false);
    expect((await drizzleRows(db.sql)).map((r) => r.createdAt)).toEqual([catalog.byTag("0000_base")!.when]);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_base"]);

    await db.sql.unsafe(`ALTER DATABASE "${db.name}" RESET fixture.sleep_seconds`);
    const rerun = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    expect(rerun.migrations).toEqual(["0001_slow"]);
    expect(rerun.status.pending).toEqual([]);
    expect(await tableExists(db.sql, "public.half_done")).toBe(true);
  });
});

describe("the applying process is killed (SIGKILL) during a CREATE INDEX CONCURRENTLY", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  let dir: string;
  let reader: postgres.Sql;
  let release = () => {};

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_sigkill_cic" });
    dir = migrationsFolder([
      { tag: "0000_base", up: statements("CREATE TABLE base (id int PRIMARY KEY, email text)", "INSERT INTO base SELECT g, 'p' || g FROM generate_series(1, 1000) g") },
      { tag: "0001_email_idx", up: statements('CREATE INDEX CONCURRENTLY IF NOT EXISTS "base_email_idx" ON "base" ("email")') },
    ]);
    catalog = await loadCatalog(dir);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_base" });
    reader = postgres(db.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    release();
    await reader?.end({ timeout: 1 });
    await db?.drop();
  });

  it("leaves no lock, the migration unrecorded, and a rerun drops the half-built index and builds it", { timeout: 60_000 }, async () => {
    // A long report holding an old snapshot keeps the build waiting in its last phase, index already in the catalog.
    const released = new Promise<void>((r) => (release = r));
    let holds!: () => void;
    const holding = new Promise<void>((r) => (holds = r));
    const report = reader.begin("isolation level repeatable read", async (tx) => {
      await tx`select count(*) from base`;
      holds();
      await released;
    });
    await holding;

    const { freedAfterMs } = await applyAndKill(db, dir, "CREATE INDEX CONCURRENTLY", { lockTimeoutMs: 60_000 });
    expect(freedAfterMs, "the killed run still holds the apply lock").not.toBeNull();
    console.info(`SIGKILL during CREATE INDEX CONCURRENTLY: apply lock free ${freedAfterMs!.toFixed(0)} ms after the kill`);
    expect(await invalidIndexes(db.sql)).toEqual(["base_email_idx"]);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0001_email_idx"]);

    release();
    await report;
    const { onEvent, of } = recorder();
    const rerun = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent });
    expect(rerun.migrations).toEqual(["0001_email_idx"]);
    expect(of("invalid_index_dropped").map((e) => e.index)).toEqual(["public.base_email_idx"]);
    expect(await indexIsValid(db.sql, "base_email_idx")).toBe(true);
    expect(await invalidIndexes(db.sql)).toEqual([]);
  });
});

describe("the applying process is killed (SIGKILL) part-way through a migration of several CONCURRENTLY indexes", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  let dir: string;
  const cli = promisify(execFile);

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_sigkill_partial" });
    dir = migrationsFolder([
      {
        tag: "0000_base",
        up: statements(
          "CREATE TABLE base (id int PRIMARY KEY, email text, clinic int)",
          "INSERT INTO base SELECT g, 'p' || g, g % 7 FROM generate_series(1, 3) g",
          // An index key that takes as long per row as the database setting says (60 s while the child runs).
          `CREATE FUNCTION slow_key(i int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(coalesce(current_setting('fixture.sleep_seconds', true), '0')::float8); RETURN i; END $$`,
        ),
      },
      {
        tag: "0001_base_indexes",
        up: statements(
          'CREATE INDEX CONCURRENTLY IF NOT EXISTS "base_email_idx" ON "base" ("email")',
          'CREATE INDEX CONCURRENTLY IF NOT EXISTS "base_clinic_idx" ON "base" ("clinic")',
          'CREATE INDEX CONCURRENTLY IF NOT EXISTS "base_slow_idx" ON "base" (slow_key(id))',
        ),
      },
    ]);
    catalog = await loadCatalog(dir);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_base" });
  });
  afterAll(async () => db?.drop());

  // A child process and two CLI runs: slow on a loaded machine, so a longer budget than the default.
  it("shows it as partially applied, listing what exists and the invalid index, and the next apply completes it", { timeout: 120_000 }, async () => {
    await db.sql.unsafe(`ALTER DATABASE "${db.name}" SET fixture.sleep_seconds = '60'`);
    // The build statement itself: the run's first status read names every index in a literal too.
    const { freedAfterMs } = await applyAndKill(db, dir, 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "base_slow_idx"');
    expect(freedAfterMs, "the killed run still holds the apply lock").not.toBeNull();
    await db.sql.unsafe(`ALTER DATABASE "${db.name}" RESET fixture.sleep_seconds`);

    const status = await readStatus(db.url, catalog);
    const partial = status.migrations.find((m) => m.tag === "0001_base_indexes")!;
    expect(partial.state).toBe("partially_applied");
    expect(partial.partial).toMatchObject({
      statementsDone: 2,
      statementsTotal: 3,
      runId: "killed-run",
      indexes: [
        { name: "public.base_email_idx", state: "valid" },
        { name: "public.base_clinic_idx", state: "valid" },
        { name: "public.base_slow_idx", state: "invalid" },
      ],
    });
    expect(status.problems.partiallyApplied).toEqual(["0001_base_indexes"]);
    expect(status.pending).toEqual(["0001_base_indexes"]);

    // The CLI says the same, in text and in JSON.
    const bin = path.join(ROOT, "cli/bin.cjs");
    const text = await cli(process.execPath, [bin, "status", "--database-url", db.url, "--migrations", dir], { cwd: ROOT });
    expect(text.stdout).toMatch(/1 pending \(1 partially applied\)/);
    expect(text.stdout).toMatch(/partially_applied\s+0001_base_indexes/);
    expect(text.stdout).toContain("statements committed: 2 of 3");
    expect(text.stdout).toContain("index public.base_slow_idx: invalid");
    const json = JSON.parse((await cli(process.execPath, [bin, "status", "--database-url", db.url, "--migrations", dir, "--json"], { cwd: ROOT })).stdout);
    expect(json.migrations[1]).toMatchObject({ tag: "0001_base_indexes", state: "partially_applied", partial: { statementsDone: 2, indexes: expect.arrayContaining([{ name: "public.base_slow_idx", state: "invalid" }]) } });

    const { onEvent, of } = recorder();
    const rerun = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent });
    expect(rerun.migrations).toEqual(["0001_base_indexes"]);
    expect(of("statement_skipped").map((e) => e.statement)).toEqual([1, 2]);
    expect(of("invalid_index_dropped").map((e) => e.index)).toEqual(["public.base_slow_idx"]);
    expect(rerun.status.migrations.map((m) => m.state)).toEqual(["applied", "applied"]);
    expect(await invalidIndexes(db.sql)).toEqual([]);
    for (const name of ["base_email_idx", "base_clinic_idx", "base_slow_idx"]) expect(await indexIsValid(db.sql, name)).toBe(true);
    expect(await tableExists(db.sql, "migration_console.progress")).toBe(true);
    expect(await db.sql`select * from migration_console.progress`).toHaveLength(0);
  });
});
