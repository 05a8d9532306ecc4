/** The CLI's deployment commands act as a console user, under the same gates as the browser. */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { adminUrl, freshDatabase, shadowAdminUrl, type TestDatabase } from "../support/databases";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
let store: TestDatabase;
let target: TestDatabase;
let production: TestDatabase;
let env: Record<string, string>;

/** One CLI run is killed after this (an apply that follows its run and verification: twice that); each test's timeout covers all its runs. */
const CLI_RUN_MS = 45_000;

async function cli(email: string | null, args: string[], password = "console-demo") {
  const credentials = email ? { MIGRATION_CONSOLE_EMAIL: email, MIGRATION_CONSOLE_PASSWORD: password } : {};
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(root, "cli/bin.cjs"), ...args], { cwd: root, env: { ...process.env, ...env, ...credentials }, timeout: args[0] === "apply" ? 4 * CLI_RUN_MS : CLI_RUN_MS });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  store = await freshDatabase({ prefix: "cli_store", template: inject("storeTemplate") });
  target = await freshDatabase({ prefix: "cli_local" });
  const catalog = await loadCatalog(path.join(root, "db/migrations"));
  await applyMigrations({ url: target.url, catalog, to: catalog.migrations[6]!.tag, actor: "test-setup" });
  production = await freshDatabase({ prefix: "cli_production" });
  await applyMigrations({ url: production.url, catalog, to: catalog.migrations[3]!.tag, actor: "test-setup" });
  env = {
    CONSOLE_DATABASE_URL: store.url,
    CONSOLE_DEMO: "1",
    NEXTAUTH_SECRET: "x".repeat(40),
    SHADOW_DATABASE_URL: shadowAdminUrl(),
    TARGET_LOCAL_URL: target.url,
    TARGET_STAGING_URL: target.url.replace(/\/[^/]+$/, "/does_not_exist"),
    TARGET_PRODUCTION_URL: production.url,
  };
}, 120_000);
afterAll(async () => {
  await store?.drop();
  await target?.drop();
  await production?.drop();
});

describe("deployments from the CLI", () => {
  it("refuses without credentials, and with wrong ones", async () => {
    const none = await cli(null, ["deployment", "create", "--env", "local"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/set MIGRATION_CONSOLE_EMAIL and MIGRATION_CONSOLE_PASSWORD/);
    const wrong = await cli("engineer@demo.local", ["deployment", "create", "--env", "local"], "not-the-password");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/do not match an active console user/);
  }, 3 * CLI_RUN_MS);

  it("gives three parallel creates one deployment: the same id in every --json answer", async () => {
    const answers = await Promise.all([0, 1, 2].map(() => cli("engineer@demo.local", ["deployment", "create", "--env", "local", "--json"])));
    for (const a of answers) expect(a.code, a.stderr + a.stdout).toBe(0);
    const parsed = answers.map((a) => JSON.parse(a.stdout) as { id: string; existing: boolean });
    expect(new Set(parsed.map((p) => p.id)).size).toBe(1);
    expect(parsed.filter((p) => !p.existing)).toHaveLength(1);
    const text = await cli("engineer@demo.local", ["deployment", "create", "--env", "local"]);
    expect(text.stderr).toMatch(/already has deployment #\d+ open to this migration/);
    expect(text.stdout).toMatch(/\(already open\)/);
    const cancelled = await cli("engineer@demo.local", ["deployment", "cancel", "--deployment", parsed[0]!.id, "--comment", "opened by the parallel test", "--json"]);
    expect(JSON.parse(cancelled.stdout).state).toBe("cancelled");
  }, 180_000);

  it("says a target whose database is missing is so, with what to do, as the browser does", async () => {
    const json = await cli("engineer@demo.local", ["deployment", "create", "--env", "staging", "--json"]);
    expect(json.code).toBe(1);
    const { error } = JSON.parse(json.stdout) as { error: { code: string; message: string; hint: string } };
    // TARGET_STAGING_URL names a database that does not exist on a server that answers.
    expect(error.code).toBe("database_missing");
    expect(error.message).toMatch(/staging target cannot be read/);
    expect(error.message).not.toMatch(/Something went wrong|postgres:\/\//);
    const text = await cli("engineer@demo.local", ["deployment", "create", "--env", "staging"]);
    expect(text.stderr).toMatch(/^error: The staging target cannot be read/);
    expect(text.stderr).toMatch(/Check the database name in the environment's URL variable/);
  }, 120_000);

  it("refuses at creation a production deployment that promotion forbids, with code promotion", async () => {
    const json = await cli("release@demo.local", ["deployment", "create", "--env", "production", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: "promotion", message: "Staging cannot be read, so it cannot vouch for these migrations." } });
  }, 120_000);

  it("opens, signs off and applies a deployment as the right users, and verifies after", async () => {
    const created = await cli("engineer@demo.local", ["deployment", "create", "--env", "local", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const deployment = JSON.parse(created.stdout) as { id: string; number: number; state: string };
    expect(deployment.state).toBe("awaiting_approval");

    // The engineer may not sign off; the same gate as in the browser says why.
    const refused = await cli("engineer@demo.local", ["deployment", "signoff", "--deployment", String(deployment.number)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Needs a compliance officer/);

    const signed = await cli("compliance@demo.local", ["deployment", "signoff", "--deployment", deployment.id, "--json"]);
    expect(JSON.parse(signed.stdout).state).toBe("approved");

    const applied = await cli("engineer@demo.local", ["apply", "--deployment", deployment.id, "--json"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ state: "succeeded", verification: "passed" });

    const status = JSON.parse((await cli(null, ["status", "--env", "local", "--json"])).stdout);
    expect(status.pending).toEqual([]);
  }, 9 * CLI_RUN_MS);
});
