import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/catalog";
import { loadCatalog } from "../../lib/catalog";
import { applyMigrations, readStatus } from "../../lib/executor";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";
import { advisoryLockHolders, drizzleRows, historyRows, migrationsFolder, removeFixtureFolders, statements, tableExists, waitFor } from "./support";

const CHILD = path.join(__dirname, "fixtures/apply-child.ts");
const ROOT = path.resolve(__dirname, "../..");

/**
 * The slow statement sleeps as long as the database setting says: a minute while the child runs (far longer
 * than the test waits, so only the executor noticing the dead client can free the target), nothing on the rerun.
 */
const SLOW = statements(
  "CREATE TABLE half_done (id int PRIMARY KEY)",
  "SELECT pg_sleep(coalesce(current_setting('fixture.sleep_seconds', true), '0')::float8)",
  "ALTER TABLE base ADD COLUMN finished boolean",
);

describe.each([18, 15] as const)("the applying process is killed (SIGKILL) mid-migration on PostgreSQL %i", (server) => {
  let db: TestDatabase;
  let dir: string;
  let catalog: Catalog;
  let child: ChildProcess | null = null;

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
  afterAll(async () => {
    child?.kill("SIGKILL");
    await db?.drop();
    removeFixtureFolders();
  });

  it.runIf(hasServer(server))("leaves the target consistent and unlocked, and a rerun completes", async () => {
    await db.sql.unsafe(`ALTER DATABASE "${db.name}" SET fixture.sleep_seconds = '60'`);
    const output: string[] = [];
    child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], {
      cwd: ROOT,
      env: { ...process.env, TARGET_URL: db.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child!.once("exit", (_code, signal) => resolve(signal)));

    const sleeping = await waitFor(async () => {
      const rows = await db.sql`
        select 1 from pg_stat_activity
        where datname = current_database() and application_name like 'migration-console killed-run%'
          and state = 'active' and query like '%pg_sleep%'`;
      return rows.length > 0;
    }, 20_000);
    expect(sleeping, `the child never reached the slow statement:\n${output.join("")}`).not.toBeNull();
    expect(await advisoryLockHolders(db.sql)).toHaveLength(1);

    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    child = null;

    // PostgreSQL notices the dead client by itself (no pg_terminate_backend: an operator would not do it).
    const freedAfter = await waitFor(async () => (await advisoryLockHolders(db.sql)).length === 0, 10_000, 100);
    expect(freedAfter, "the killed run still holds the apply lock").not.toBeNull();
    console.info(`SIGKILL on PostgreSQL ${server}: apply lock free ${freedAfter!.toFixed(0)} ms after the kill`);

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
