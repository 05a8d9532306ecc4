/**
 * `apply`, `rollback` and `status` as a CI pipeline runs them: exit codes, `--json` shapes on
 * success and failure (lock_timeout with its blockers, sql_error with file, line and column), the
 * timeout options and the options that accept a ledger problem, and the demo-cluster fallback.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { testPorts } from "../support/ports";
import { addMigration, BASE_WHEN, migrationsFolder, positionOf, removeFixtureFolders, statements, tableExists, truncateJournal } from "../executor/support";
import { cli, CLI_RUN_MS } from "./cli-support";

/** Up to eight CLI runs per test, each bounded by CLI_RUN_MS. */
const CLI_TIMEOUT = 8 * CLI_RUN_MS;

const databases: TestDatabase[] = [];
async function target(prefix: string) {
  const db = await freshDatabase({ prefix });
  databases.push(db);
  return db;
}
afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()));
  removeFixtureFolders();
});

const PATIENTS = { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, name text)"), down: statements("DROP TABLE patients") };
const NOTES = { tag: "0001_notes", up: statements("CREATE TABLE notes (id int PRIMARY KEY)"), down: statements("DROP TABLE notes") };

describe("apply and rollback --json", () => {
  it("rolls back with --to TAG and with --all, printing what it undid", async () => {
    const db = await target("cli_rb");
    const dir = migrationsFolder([PATIENTS, NOTES]);
    const up = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.json()).toEqual({ ok: true, runId: expect.any(String), direction: "up", migrations: ["0000_patients", "0001_notes"], durationMs: expect.any(Number), current: "0001_notes", pending: [], backups: { taken: [], declined: [], restored: [], notRestored: [] } });

    const toFirst = await cli(["rollback", "--database-url", db.url, "--migrations", dir, "--to", "0000_patients", "--json"]);
    expect(toFirst.code, toFirst.stderr).toBe(0);
    expect(toFirst.json()).toMatchObject({ ok: true, direction: "down", migrations: ["0001_notes"], current: "0000_patients", pending: ["0001_notes"] });
    expect(await tableExists(db.sql, "public.notes")).toBe(false);

    const all = await cli(["rollback", "--database-url", db.url, "--migrations", dir, "--all"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/rolled back 1 migration in \d+ ms; now at \(nothing applied\)/);
    expect(await tableExists(db.sql, "public.patients")).toBe(false);

    const nothing = await cli(["rollback", "--database-url", db.url, "--migrations", dir, "--all", "--json"]);
    expect(nothing.json()).toMatchObject({ ok: true, migrations: [], current: null });

    const unknown = await cli(["rollback", "--database-url", db.url, "--migrations", dir, "--to", "0009_nope", "--json"]);
    expect(unknown.code).toBe(1);
    expect(unknown.json()).toEqual({ ok: false, error: { code: "no_such_migration", message: 'There is no migration "0009_nope" in the files.' } });
  }, CLI_TIMEOUT);

  it("names the blockers in a lock_timeout, after exactly --max-retries retries", async () => {
    const db = await target("cli_lock");
    const dir = migrationsFolder([PATIENTS, { tag: "0001_add_column", up: statements("ALTER TABLE patients ADD COLUMN phone text") }]);
    await cli(["apply", "--database-url", db.url, "--migrations", dir, "--to", "0000_patients"]);
    const reader = await db.sql.reserve();
    try {
      await reader`begin`;
      const [{ pid }] = (await reader`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      await reader`select count(*) from patients /* clinic report */`;

      const json = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--lock-timeout", "150", "--max-retries", "1", "--json"]);
      expect(json.code).toBe(1);
      const { error } = json.json<{ error: { code: string; tag: string; blockers: { pid: number; query: string; ageMs: number }[]; leftBehind: string } }>();
      expect(error).toMatchObject({ code: "lock_timeout", tag: "0001_add_column" });
      expect(error.blockers).toEqual([expect.objectContaining({ pid, query: expect.stringContaining("clinic report"), ageMs: expect.any(Number) })]);
      expect(error.leftBehind).toMatch(/not recorded as applied and the target is as it was before it/);

      const text = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--lock-timeout", "150", "--max-retries", "2"]);
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(/retry 1\/2/);
      expect(text.stderr).toMatch(/retry 2\/2/);
      expect(text.stderr).not.toMatch(/retry 3/);
      expect(text.stderr).toMatch(new RegExp(`^error: .*pid ${pid}`, "m"));
    } finally {
      await reader`rollback`;
      reader.release();
    }
    const [{ exists }] = (await db.sql`select exists (select 1 from information_schema.columns where table_name = 'patients' and column_name = 'phone') as exists`) as unknown as [{ exists: boolean }];
    expect(exists).toBe(false);
  }, CLI_TIMEOUT);

  it("reports an SQL error with the file, line, column and SQLSTATE, and applies nothing of that migration", async () => {
    const db = await target("cli_sql");
    const up = statements("CREATE TABLE referrals (id int PRIMARY KEY)", "INSERT INTO referrals (id)\n  SELECT id\n    FROM patients_archive");
    const dir = migrationsFolder([PATIENTS, { tag: "0001_referrals", up }]);
    const where = positionOf(up, "patients_archive");
    const res = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(res.code).toBe(1);
    expect(res.json()).toMatchObject({
      ok: false,
      error: { code: "sql_error", tag: "0001_referrals", file: expect.stringMatching(/\/0001_referrals\.sql$/), statement: 2, line: where.line, column: where.column, sqlstate: "42P01", leftBehind: expect.any(String) },
    });
    expect(await tableExists(db.sql, "public.patients")).toBe(true);
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);
    const status = await cli(["status", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(status.json()).toMatchObject({ current: "0000_patients", pending: ["0001_referrals"] });
  }, CLI_TIMEOUT);

  it("--statement-timeout stops a long statement (SQLSTATE 57014) long before it would finish", async () => {
    const db = await target("cli_stmt");
    // Ten minutes of sleep: only the statement timeout ends the run before the CLI run's own limit kills it.
    const dir = migrationsFolder([PATIENTS, { tag: "0001_slow", up: statements("CREATE TABLE slow (id int)", "SELECT pg_sleep(600)") }]);
    const res = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--statement-timeout", "300", "--json"]);
    expect(res.code, res.stderr).toBe(1);
    expect(res.json()).toMatchObject({ error: { code: "sql_error", sqlstate: "57014", tag: "0001_slow", statement: 2 } });
    expect(await tableExists(db.sql, "public.slow")).toBe(false);
  }, CLI_TIMEOUT);

  it("rejects a malformed timeout as a usage error (exit 2) before touching the target", async () => {
    const res = await cli(["apply", "--database-url", "postgres://u:p@127.0.0.1:1/x", "--lock-timeout", "soon"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--lock-timeout takes a whole number/);
  });
});

describe("options that accept a ledger problem", () => {
  it("--accept-checksums records an edited file's checksum; without it the apply is refused", async () => {
    const db = await target("cli_sum");
    const dir = migrationsFolder([PATIENTS, NOTES]);
    await cli(["apply", "--database-url", db.url, "--migrations", dir, "--to", "0000_patients"]);
    fs.appendFileSync(path.join(dir, "0000_patients.sql"), "-- reviewed: comment only\n");

    const refused = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ ok: false, error: { code: "checksum_mismatch", tags: ["0000_patients"] } });
    const status = await cli(["status", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(status.json()).toMatchObject({ problems: { checksumMismatch: ["0000_patients"] }, migrations: [{ tag: "0000_patients", state: "checksum_mismatch" }, { tag: "0001_notes", state: "pending" }] });
    expect(await tableExists(db.sql, "public.notes")).toBe(false);

    const accepted = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--accept-checksums", "--json"]);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.json()).toMatchObject({ ok: true, migrations: ["0001_notes"], pending: [] });
    const after = await cli(["status", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(after.json()).toMatchObject({ problems: { checksumMismatch: [] }, migrations: [{ tag: "0000_patients", state: "applied" }, { tag: "0001_notes", state: "applied" }] });
  }, CLI_TIMEOUT);

  it("--allow-out-of-order applies a migration older than the newest applied one; without it the apply is refused", async () => {
    const db = await target("cli_ooo");
    const dir = migrationsFolder([
      { ...PATIENTS, when: BASE_WHEN },
      { ...NOTES, when: BASE_WHEN + 2000 },
    ]);
    await cli(["apply", "--database-url", db.url, "--migrations", dir]);
    addMigration(dir, { tag: "0002_late_branch", when: BASE_WHEN + 1000, up: statements("CREATE TABLE referrals (id int PRIMARY KEY)") });

    const refused = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ error: { code: "out_of_order", tags: ["0002_late_branch"] } });
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);

    const allowed = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--allow-out-of-order", "--json"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.json()).toMatchObject({ migrations: ["0002_late_branch"] });
    expect(await tableExists(db.sql, "public.referrals")).toBe(true);
  }, CLI_TIMEOUT);

  it("--allow-unknown proceeds past ledger entries these files lack; without it the apply is refused", async () => {
    const db = await target("cli_unknown");
    const dir = migrationsFolder([PATIENTS, NOTES]);
    await cli(["apply", "--database-url", db.url, "--migrations", dir]);
    truncateJournal(dir, 1);
    addMigration(dir, { tag: "0001_referrals", when: BASE_WHEN + 5000, up: statements("CREATE TABLE referrals (id int PRIMARY KEY)") });

    const refused = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ error: { code: "unknown_in_ledger" } });
    const status = await cli(["status", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(status.json()).toMatchObject({ problems: { unknown: 1 }, unknown: [{ tag: "0001_notes" }] });

    const allowed = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--allow-unknown", "--json"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.json()).toMatchObject({ migrations: ["0001_referrals"] });
  }, CLI_TIMEOUT);
});

describe("the demo-cluster fallback", () => {
  it("with no store and no target URLs, --env uses the demo cluster, started for the command and stopped after", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-cli-demo-"));
    const port = testPorts.scratch(5);
    const env: Record<string, string | null> = { CONSOLE_DATABASE_URL: null, TARGET_LOCAL_URL: null, TARGET_STAGING_URL: null, TARGET_PRODUCTION_URL: null, CONSOLE_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) };
    try {
      const local = await cli(["status", "--env", "local", "--json"], env, 2 * CLI_RUN_MS);
      expect(local.code, local.stderr).toBe(0);
      expect(local.json()).toMatchObject({ ok: true, target: "local", pending: [] });
      expect(await listening(port)).toBe(false);

      const production = await cli(["status", "--env", "production", "--json"], env);
      expect(production.code, production.stderr).toBe(0);
      expect(production.json<{ pending: string[] }>().pending).toHaveLength(4);

      const envs = await cli(["envs", "--json"], env);
      expect(envs.json<{ environments: { name: string; configured: boolean; probe: { reachable: boolean } }[] }>().environments.map((e) => [e.name, e.configured, e.probe.reachable])).toEqual([
        ["local", true, true],
        ["staging", true, true],
        ["production", true, true],
      ]);
      expect(await listening(port)).toBe(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 5 * CLI_RUN_MS);
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
