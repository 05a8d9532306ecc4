/**
 * `apply`, `rollback` and `status` as a CI pipeline runs them: exit codes, `--json` shapes on
 * success and failure (lock_timeout with its blockers, sql_error with file, line and column) and the
 * timeout options. The ledger options are in ledger-options.test.ts, the demo fallback in
 * demo-fallback.test.ts (separate files, so the suite's workers share the CLI runs).
 */
import { describe, expect, it } from "vitest";
import { migrationsFolder, positionOf, statements, tableExists } from "../executor/support";
import { cli } from "./cli-support";
import { CLI_TIMEOUT, cliTargets, NOTES, PATIENTS } from "./target-fixture";

const { target } = cliTargets();

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
