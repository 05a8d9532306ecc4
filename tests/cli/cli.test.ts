import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "cli/bin.cjs");
/** One CLI run is killed after this; each test's own timeout covers all its runs. */
const CLI_RUN_MS = 45_000;

/** Runs the CLI as a user would; never throws, returns exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: CLI_RUN_MS });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const databases: TestDatabase[] = [];
afterAll(async () => Promise.all(databases.map((d) => d.drop())));

describe.each([18, 15] as const)("the CLI on PostgreSQL %i", (server) => {
  it.runIf(hasServer(server))("applies the whole history to an empty database, then reports nothing pending", async () => {
    const db = await freshDatabase({ server, prefix: "cli" });
    databases.push(db);

    const before = await cli(["status", "--database-url", db.url, "--json"]);
    expect(before.code).toBe(0);
    const pending = JSON.parse(before.stdout).pending as string[];
    expect(pending.length).toBeGreaterThanOrEqual(8);

    const applied = await cli(["apply", "--database-url", db.url, "--json"]);
    expect(applied.code, applied.stderr).toBe(0);
    const result = JSON.parse(applied.stdout);
    expect(result).toMatchObject({ ok: true, direction: "up", migrations: pending, pending: [] });
    expect(result.current).toBe(pending.at(-1));

    const after = JSON.parse((await cli(["status", "--database-url", db.url, "--json"])).stdout);
    expect(after.pending).toEqual([]);
    expect(after.migrations.every((m: { state: string; appliedBy: string }) => m.state === "applied" && m.appliedBy.startsWith("cli:"))).toBe(true);
  }, 4 * CLI_RUN_MS);
});

describe("CLI refusals and errors", () => {
  it("refuses to apply directly to an environment whose gate requires approval", async () => {
    const db = await freshDatabase({ prefix: "cli" });
    databases.push(db);
    const env = { CONSOLE_DATABASE_URL: "postgres://unused@127.0.0.1:1/x", TARGET_STAGING_URL: db.url };
    const res = await cli(["apply", "--env", "staging"], env);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(/staging requires 1 release-manager approval/);
    const status = JSON.parse((await cli(["status", "--env", "staging", "--json"], env)).stdout);
    expect(status.current).toBeNull();
  }, 3 * CLI_RUN_MS);

  it("says in one line, without the password, when the target cannot be reached", async () => {
    const res = await cli(["status", "--database-url", "postgres://app:hunter2@127.0.0.1:1/none"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: The target database cannot be reached/);
    expect(res.stderr).not.toContain("hunter2");
  }, 2 * CLI_RUN_MS);

  it("rejects unknown commands, options and environments as usage errors (exit 2)", async () => {
    expect((await cli(["bogus"])).code).toBe(2);
    expect((await cli(["status", "--nope"])).code).toBe(2);
    const unknownEnv = await cli(["status", "--env", "qa"], { CONSOLE_DATABASE_URL: "postgres://unused@127.0.0.1:1/x" });
    expect(unknownEnv.code).toBe(2);
    expect(unknownEnv.stderr).toMatch(/Unknown environment "qa". Known: local, staging, production/);
  }, 4 * CLI_RUN_MS);

  it("shows, in text mode, which field of a malformed journal is at fault (not only the first line)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-cli-journal-"));
    try {
      fs.mkdirSync(path.join(dir, "meta"));
      fs.writeFileSync(
        path.join(dir, "meta/_journal.json"),
        JSON.stringify({ version: "7", dialect: "postgresql", entries: [{ idx: 0, version: "7", when: "next tuesday", tag: "0000_a", breakpoints: true }] }),
      );
      fs.writeFileSync(path.join(dir, "0000_a.sql"), "CREATE TABLE a (id int);\n");
      const res = await cli(["status", "--database-url", "postgres://u:p@127.0.0.1:1/x", "--migrations", dir]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/is not a drizzle-kit PostgreSQL journal/);
      expect(res.stderr).toMatch(/entries\.0\.when/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rollback needs to be told how far", async () => {
    const res = await cli(["rollback", "--database-url", "postgres://u:p@127.0.0.1:1/x"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/rollback needs --to TAG/);
  }, 2 * CLI_RUN_MS);
});
