/** Backfill deployments from the CLI: created, signed off, run and followed, then inspected and refused control as the wrong user. */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { seedDemoData } from "../../db/seed/demo";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { freshDatabase, shadowAdminUrl, type TestDatabase } from "../support/databases";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
let store: TestDatabase;
let target: TestDatabase;
let env: Record<string, string>;

async function cli(email: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(root, "cli/bin.cjs"), ...args], {
      cwd: root,
      env: { ...process.env, ...env, MIGRATION_CONSOLE_EMAIL: email, MIGRATION_CONSOLE_PASSWORD: "console-demo" },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  store = await freshDatabase({ prefix: "cli_bf_store", template: inject("storeTemplate") });
  target = await freshDatabase({ prefix: "cli_bf_local" });
  const catalog = await loadCatalog(path.join(root, "db/migrations"));
  await applyMigrations({ url: target.url, catalog, actor: "test-setup" });
  const sql = postgres(target.url, { max: 1, onnotice: () => {} });
  await seedDemoData(sql);
  await sql.end();
  env = {
    CONSOLE_DATABASE_URL: store.url,
    CONSOLE_DEMO: "1",
    NEXTAUTH_SECRET: "x".repeat(40),
    SHADOW_DATABASE_URL: shadowAdminUrl(),
    TARGET_LOCAL_URL: target.url,
    TARGET_STAGING_URL: target.url.replace(/\/[^/]+$/, "/does_not_exist"),
    TARGET_PRODUCTION_URL: target.url.replace(/\/[^/]+$/, "/does_not_exist"),
  };
}, 120_000);
afterAll(async () => {
  await store?.drop();
  await target?.drop();
});

describe("backfills from the CLI", () => {
  it("creates the demo backfill, waits for the sign-off, runs it and reports its progress", async () => {
    const created = await cli("engineer@demo.local", ["deployment", "create", "--env", "local", "--backfill", "anonymize-expired-patients", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const deployment = JSON.parse(created.stdout) as { id: string; number: number; state: string; kind: string; progress: { waitingOn: string[] } };
    expect(deployment).toMatchObject({ kind: "backfill", state: "awaiting_approval" });
    expect(deployment.progress.waitingOn.join()).toMatch(/compliance officer's sign-off/);

    const early = await cli("engineer@demo.local", ["apply", "--deployment", String(deployment.number)]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/compliance officer's sign-off/);

    expect((await cli("compliance@demo.local", ["deployment", "signoff", "--deployment", String(deployment.number)])).code).toBe(0);
    const applied = await cli("engineer@demo.local", ["apply", "--deployment", String(deployment.number), "--json"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ state: "succeeded", verification: "passed" });

    const status = await cli("engineer@demo.local", ["backfill", "status", "--deployment", String(deployment.number), "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const view = JSON.parse(status.stdout) as { status: string; percent: number; rowsDone: number; rowsTotal: number };
    expect(view).toMatchObject({ status: "succeeded", percent: 100 });
    expect(view.rowsDone).toBe(view.rowsTotal);
    expect(view.rowsDone).toBeGreaterThan(0);
    const text = await cli("engineer@demo.local", ["backfill", "status", "--deployment", deployment.id]);
    expect(text.stdout).toMatch(new RegExp(`deployment #${deployment.number} backfill anonymize-expired-patients: succeeded`));

    const notRelease = await cli("engineer@demo.local", ["backfill", "pause", "--deployment", String(deployment.number)]);
    expect(notRelease.code).toBe(1);
    expect(notRelease.stderr).toMatch(/Needs a release manager/);
    const finished = await cli("release@demo.local", ["backfill", "resume", "--deployment", String(deployment.number)]);
    expect(finished.code).toBe(1);
    expect(finished.stderr).toMatch(/The backfill is not running: the deployment has already succeeded\./);
    const usage = await cli("release@demo.local", ["backfill", "rewind", "--deployment", String(deployment.number)]);
    expect(usage.stderr).toMatch(/Unknown backfill command "rewind": status, pause, resume or cancel/);
  }, 180_000);
});
