/**
 * `plan` for CI: `plan --database-url URL` plans against an ad-hoc target with no console store (lint,
 * rehearsal on SHADOW_DATABASE_URL, diff, drift, hash); `--migrations DIR` is the set planned; the exit
 * code follows `--fail-on`; `--format github` prints annotations a pull request shows on the file's line.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { addMigration, copyOfFolder, removeFixtureFolders } from "../executor/support";
import { freshDatabase, shadowAdminUrl, type TestDatabase } from "../support/databases";

const run = promisify(execFile);
// Every case starts the CLI (tsx compiles it on load) once or more: seconds each on a busy machine.
vi.setConfig({ testTimeout: 180_000 });
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "cli/bin.cjs");

async function cli(args: string[], env: Record<string, string>, cwd = root) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd, env: { ...process.env, CONSOLE_DATABASE_URL: "", ...env }, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let target: TestDatabase;
let store: TestDatabase;
/** The real history plus one pending migration each. */
const folders: Record<"warning" | "error" | "failing", string> = { warning: "", error: "", failing: "" };

beforeAll(async () => {
  const real = await loadCatalog(path.join(root, "db/migrations"));
  const pending: Record<keyof typeof folders, string> = {
    warning: "ALTER TABLE patients ADD COLUMN phone text;\n",
    error: "DROP SCHEMA audit CASCADE;\n",
    failing: "-- built from a function\nDO $$ BEGIN CREATE INDEX CONCURRENTLY patients_rg_idx ON patients (rg); END $$;\n",
  };
  for (const kind of Object.keys(folders) as (keyof typeof folders)[]) {
    folders[kind] = copyOfFolder();
    addMigration(folders[kind], { tag: "0009_ci_change", up: pending[kind], when: real.latest!.when + 1000 });
  }
  [target, store] = await Promise.all([freshDatabase({ prefix: "cli_plan" }), freshDatabase({ prefix: "cli_plan_store", template: inject("storeTemplate") })]);
  await applyMigrations({ url: target.url, catalog: real, to: null, actor: "test-setup" });
}, 120_000);
afterAll(async () => {
  await Promise.all([target?.drop(), store?.drop()]);
  removeFixtureFolders();
});

const shadow = () => ({ SHADOW_DATABASE_URL: shadowAdminUrl() });

describe("plan --database-url URL --migrations DIR", () => {
  it("plans the folder's pending migration against the ad-hoc target, with no console store", async () => {
    const status = await cli(["status", "--database-url", target.url, "--migrations", folders.warning, "--json"], shadow());
    expect(JSON.parse(status.stdout).pending).toEqual(["0009_ci_change"]);

    const { code, stdout, stderr } = await cli(["plan", "--database-url", target.url, "--migrations", folders.warning, "--json"], shadow());
    expect(code, stderr).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan).toMatchObject({ ok: true, from: "0008_performance_indexes", to: "0009_ci_change", blockers: [], rehearsal: { ok: true }, drift: { drifted: false } });
    expect(plan.migrations.map((m: { tag: string }) => m.tag)).toEqual(["0009_ci_change"]);
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.findings.map((f: { rule: string }) => f.rule)).toContain("console/unclassified-sensitive-column");
    expect(plan.verdict).toEqual({ passes: true, failOn: "error", reasons: [] });
    expect(stdout).not.toContain(new URL(target.url).password);
  });

  it("gives the same plan when a console store is configured: it is neither needed nor touched", async () => {
    const bare = JSON.parse((await cli(["plan", "--database-url", target.url, "--migrations", folders.warning, "--json"], shadow())).stdout);
    const withStore = await cli(["plan", "--database-url", target.url, "--migrations", folders.warning, "--json"], { ...shadow(), CONSOLE_DATABASE_URL: store.url, NEXTAUTH_SECRET: "x".repeat(40) });
    expect(withStore.code, withStore.stderr).toBe(0);
    expect(JSON.parse(withStore.stdout).hash).toBe(bare.hash);
    const [deployments] = await store.sql`select count(*)::int as n from deployments`;
    expect(deployments!.n).toBe(0);
  });

  it("a relative --migrations is read from the working directory", async () => {
    const { code, stdout } = await cli(["plan", "--database-url", target.url, "--migrations", path.basename(folders.warning), "--json"], shadow(), path.dirname(folders.warning));
    expect(code).toBe(0);
    expect(JSON.parse(stdout).migrations.map((m: { tag: string }) => m.tag)).toEqual(["0009_ci_change"]);
  });

  it("without SHADOW_DATABASE_URL: exit 1, saying what to set", async () => {
    const { code, stderr } = await cli(["plan", "--database-url", target.url, "--migrations", folders.warning], { SHADOW_DATABASE_URL: "" });
    expect(code).toBe(1);
    expect(stderr).toMatch(/SHADOW_DATABASE_URL is not set/);
  });
});

describe("exit codes of --fail-on", () => {
  const planExit = async (folder: string, ...extra: string[]) => (await cli(["plan", "--database-url", target.url, "--migrations", folder, ...extra], shadow())).code;

  it("error (the default): a warning passes, an error fails", async () => {
    expect(await planExit(folders.warning)).toBe(0);
    expect(await planExit(folders.warning, "--fail-on", "error")).toBe(0);
    expect(await planExit(folders.error)).toBe(1);
  });

  it("warning: a warning fails", async () => {
    const { code, stdout } = await cli(["plan", "--database-url", target.url, "--migrations", folders.warning, "--fail-on", "warning", "--json"], shadow());
    expect(code).toBe(1);
    expect(JSON.parse(stdout).verdict).toMatchObject({ passes: false, failOn: "warning", reasons: [expect.stringMatching(/finding\(s\) at warning or above/)] });
  });

  it("never: findings never fail, a failed rehearsal still does", async () => {
    expect(await planExit(folders.error, "--fail-on", "never")).toBe(0);
    expect(await planExit(folders.failing, "--fail-on", "never")).toBe(1);
  });

  it("an unknown level is a usage error (exit 2)", async () => {
    expect(await planExit(folders.warning, "--fail-on", "sometimes")).toBe(2);
  });
});

describe("--format github", () => {
  it("prints one annotation per finding, on the file and line, then the summary", async () => {
    const cwd = path.dirname(folders.error);
    const { code, stdout } = await cli(["plan", "--database-url", target.url, "--migrations", path.basename(folders.error), "--format", "github"], shadow(), cwd);
    expect(code).toBe(1);
    const file = `${path.basename(folders.error)}/0009_ci_change.sql`;
    expect(stdout).toContain(`::error file=${file},line=1,col=1,title=console/diff-tagged-table-removed::audit.audit_logs (holding [PD] personal data) disappears by this plan`);
    expect(stdout).toMatch(/\nplan hash: [0-9a-f]{64}/);
  });

  it("a failed rehearsal is annotated at the statement that failed", async () => {
    const cwd = path.dirname(folders.failing);
    const { stdout } = await cli(["plan", "--database-url", target.url, "--migrations", path.basename(folders.failing), "--format", "github"], shadow(), cwd);
    const file = `${path.basename(folders.failing)}/0009_ci_change.sql`;
    const line = stdout.split("\n").find((l) => l.includes("title=rehearsal failed"));
    expect(line).toMatch(/^::error file=.*,line=2,col=\d+,title=rehearsal failed::0009_ci_change\.sql:2:\d+: CREATE INDEX CONCURRENTLY cannot (run inside a transaction block|be executed from a function)/);
    expect(line).toContain(`file=${file},`);
  });
});

describe("plan --env NAME --migrations DIR (through the console)", () => {
  it("plans the folder given, not the console's own", async () => {
    const env = {
      ...shadow(),
      CONSOLE_DATABASE_URL: store.url,
      NEXTAUTH_SECRET: "x".repeat(40),
      TARGET_LOCAL_URL: target.url,
      TARGET_STAGING_URL: target.url.replace(/\/[^/]+$/, "/does_not_exist"),
      TARGET_PRODUCTION_URL: target.url.replace(/\/[^/]+$/, "/does_not_exist"),
    };
    const { code, stdout, stderr } = await cli(["plan", "--env", "local", "--migrations", folders.warning, "--json"], env);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout).migrations.map((m: { tag: string }) => m.tag)).toEqual(["0009_ci_change"]);
  });
});
