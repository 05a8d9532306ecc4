/**
 * The CLI commands that read the registry or act as a console user: `envs`, `plan`, `verify`,
 * `deployment show|approve|signoff|reject|cancel` and the gated refusal of `rollback`, with their
 * exit codes and `--json` shapes, against a real store and real targets.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus } from "../../lib/executor";
import { adminUrl, freshDatabase, shadowAdminUrl, type TestDatabase } from "../support/databases";
import { cli, CLI_RUN_MS, root } from "./cli-support";

/** Up to fourteen CLI runs per test, each bounded by CLI_RUN_MS. */
const CLI_TIMEOUT = 14 * CLI_RUN_MS;
let store: TestDatabase;
let local: TestDatabase;
let staging: TestDatabase;
let catalog: Catalog;
let env: Record<string, string | null>;

const as = (email: string | null) => (email ? { MIGRATION_CONSOLE_EMAIL: email, MIGRATION_CONSOLE_PASSWORD: "console-demo" } : { MIGRATION_CONSOLE_EMAIL: null, MIGRATION_CONSOLE_PASSWORD: null });

beforeAll(async () => {
  store = await freshDatabase({ prefix: "cli_console_store", template: inject("storeTemplate") });
  local = await freshDatabase({ prefix: "cli_console_local" });
  staging = await freshDatabase({ prefix: "cli_console_staging" });
  catalog = await loadCatalog(path.join(root, "db/migrations"));
  await applyMigrations({ url: local.url, catalog, to: catalog.migrations[7]!.tag, actor: "test-setup" });
  await applyMigrations({ url: staging.url, catalog, to: catalog.migrations[6]!.tag, actor: "test-setup" });
  env = {
    CONSOLE_DATABASE_URL: store.url,
    CONSOLE_DEMO: "1",
    NEXTAUTH_SECRET: "x".repeat(40),
    SHADOW_DATABASE_URL: shadowAdminUrl(),
    TARGET_LOCAL_URL: local.url,
    TARGET_STAGING_URL: staging.url,
    TARGET_PRODUCTION_URL: null,
    CONSOLE_ENVIRONMENTS_FILE: null,
  };
}, 120_000);
afterAll(async () => {
  await Promise.all([store, local, staging].map((d) => d?.drop()));
});

describe("envs", () => {
  it("lists the environments in promotion order with their gates and whether each answers", async () => {
    const res = await cli(["envs", "--json"], env);
    expect(res.code, res.stderr).toBe(0);
    const { environments } = res.json<{ environments: { name: string; position: number; urlEnv: string; configured: boolean; gates: Record<string, unknown>; probe: { reachable: boolean; serverVersion?: string } | null }[] }>();
    expect(environments.map((e) => [e.name, e.position, e.urlEnv, e.configured])).toEqual([
      ["local", 0, "TARGET_LOCAL_URL", true],
      ["staging", 1, "TARGET_STAGING_URL", true],
      ["production", 2, "TARGET_PRODUCTION_URL", false],
    ]);
    expect(environments[0]!.probe).toMatchObject({ reachable: true });
    expect(environments[2]!.probe).toBeNull();
    expect(environments[2]!.gates).toMatchObject({ releaseManagerApprovals: 2, promotionFrom: "staging" });
    expect(res.stdout).not.toContain(local.url.split("@")[0]!.split(":").at(-1)!);

    const text = await cli(["envs"], { ...env, TARGET_PRODUCTION_URL: "postgres://u:hunter2@127.0.0.1:1/none" });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/1\. local\s+ungated\s+answers \(PostgreSQL 18/);
    expect(text.stdout).toMatch(/3\. production\s+2 approvals\s+unreachable: /);
    expect(text.stdout).not.toContain("hunter2");
  }, CLI_TIMEOUT);
});

describe("plan", () => {
  it("prints the plan a deployment would get (exit 0), and exit 1 when the plan is blocked", async () => {
    const ok = await cli(["plan", "--env", "staging", "--json"], env);
    expect(ok.code, ok.stderr).toBe(0);
    const plan = ok.json<{ ok: true; hash: string; environment: string; kind: string; from: string; to: string; migrations: { tag: string }[]; findings: unknown[]; blockers: string[]; rehearsal: { ok: boolean }; requiresComplianceSignoff: boolean }>();
    expect(plan).toMatchObject({ ok: true, environment: "staging", kind: "apply", from: "0006_appointment_overlap", to: "0008_performance_indexes", blockers: [], rehearsal: { ok: true }, requiresComplianceSignoff: true });
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.migrations.map((m) => m.tag)).toEqual(["0007_row_level_security", "0008_performance_indexes"]);

    const text = await cli(["plan", "--env", "staging", "--to", "0007_row_level_security"], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^staging: apply 0006_appointment_overlap -> 0007_row_level_security, 1 migration/);
    expect(text.stdout).toMatch(/rehearsal: ok in \d+ ms/);
    expect(text.stdout).toMatch(/plan hash: [0-9a-f]{64}/);

    // Nothing planned changes the target.
    expect((await readStatus(staging.url, catalog)).current).toBe("0006_appointment_overlap");

    const blocked = await cli(["plan", "--env", "staging", "--to", "0001_core_tables", "--json"], env);
    expect(blocked.code).toBe(1);
    expect(blocked.json<{ blockers: string[]; rehearsal: { ok: boolean } }>()).toMatchObject({ blockers: [expect.stringMatching(/that is a rollback, not an apply/)], rehearsal: { ok: false } });

    const unknownEnv = await cli(["plan", "--env", "qa", "--json"], env);
    expect(unknownEnv.code).toBe(1);
    expect(unknownEnv.json()).toMatchObject({ ok: false, error: { code: "invalid_input", message: 'Unknown environment "qa".' } });
    expect((await cli(["plan"], env)).code).toBe(2);
  }, CLI_TIMEOUT);
});

describe("verify", () => {
  it("--env records a snapshot as the console user (exit 0 when it passes, 1 when a check fails); --database-url records nothing", async () => {
    const count = async () => (await store.sql<{ n: number }[]>`select count(*)::int as n from verification_snapshots`)[0]!.n;
    const passing = await freshDatabase({ prefix: "cli_console_full" });
    try {
      await applyMigrations({ url: passing.url, catalog, actor: "test-setup" });
      const adHoc = await cli(["verify", "--database-url", passing.url, "--json"], env);
      expect(adHoc.code, adHoc.stderr).toBe(0);
      expect(adHoc.json()).toMatchObject({ ok: true, outcome: "passed", report: { counts: { fail: 0, error: 0 } } });
      expect(await count()).toBe(0);

      const recorded = await cli(["verify", "--env", "local", "--json"], { ...env, ...as("compliance@demo.local"), TARGET_LOCAL_URL: passing.url });
      expect(recorded.code, recorded.stderr).toBe(0);
      const out = recorded.json<{ environment: string; snapshotId: string; outcome: string }>();
      expect(out).toMatchObject({ ok: true, environment: "local", outcome: "passed" });
      const [snapshot] = await store.sql<{ id: string; trigger: string; outcome: string; target_version: string }[]>`select id, trigger, outcome, target_version from verification_snapshots`;
      expect(snapshot).toEqual({ id: out.snapshotId, trigger: "cli", outcome: "passed", target_version: "0008_performance_indexes" });
      const [audit] = await store.sql<{ actor_email: string; details: { trigger: string; snapshotId: string } }[]>`select actor_email, details from audit_events where action = 'verification.ran'`;
      expect(audit).toMatchObject({ actor_email: "compliance@demo.local", details: { trigger: "cli", snapshotId: out.snapshotId } });

      await passing.sql`ALTER TABLE lgpd.lgpd_consents DISABLE TRIGGER lgpd_consents_guard_hash`;
      const failing = await cli(["verify", "--env", "local"], { ...env, ...as(null), TARGET_LOCAL_URL: passing.url });
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/FAIL /);
      expect(await count()).toBe(2);
      const [last] = await store.sql<{ outcome: string }[]>`select outcome from verification_snapshots order by created_at desc limit 1`;
      expect(last!.outcome).toBe("failed");

      const unreachable = await cli(["verify", "--database-url", "postgres://u:hunter2@127.0.0.1:1/none"], env);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).not.toContain("hunter2");
    } finally {
      await passing.drop();
    }
  }, CLI_TIMEOUT);
});

describe("deployment show, approve, reject, cancel and the gated rollback", () => {
  it("reviews a deployment as each role, exit 1 with the gate's reason when refused", async () => {
    const created = await cli(["deployment", "create", "--env", "staging", "--to", "0007_row_level_security", "--json"], { ...env, ...as("engineer@demo.local") });
    expect(created.code, created.stderr).toBe(0);
    const d = created.json<{ ok: true; id: string; number: number; environment: string; state: string; planHash: string; progress: { releaseApprovals: { have: number; need: number } }; decisions: Record<string, { allowed: boolean; reason: string | null }> }>();
    expect(d).toMatchObject({ ok: true, environment: "staging", state: "awaiting_approval", progress: { releaseApprovals: { have: 0, need: 1 } } });
    expect(d.decisions.approve).toMatchObject({ allowed: false, reason: "Needs a release manager." });

    const shown = await cli(["deployment", "show", "--deployment", `#${d.number}`], { ...env, ...as("release@demo.local") });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^deployment #${d.number} \\(${d.id}\\) on staging: awaiting_approval`));
    expect(shown.stdout).toMatch(/approvals: 0 of 1/);

    const selfApprove = await cli(["deployment", "approve", "--deployment", d.id, "--json"], { ...env, ...as("engineer@demo.local") });
    expect(selfApprove.code).toBe(1);
    expect(selfApprove.json()).toMatchObject({ ok: false, error: { code: "forbidden", message: "Needs a release manager." } });

    const approved = await cli(["deployment", "approve", "--deployment", d.id, "--comment", "looks right", "--json"], { ...env, ...as("release@demo.local") });
    expect(approved.code, approved.stderr).toBe(0);
    // 0007 changes RLS: still waiting for the compliance officer.
    expect(approved.json()).toMatchObject({ state: "awaiting_approval", progress: { releaseApprovals: { have: 1, need: 1 }, compliance: { required: true, given: false } } });
    const [approval] = await store.sql<{ comment: string; plan_hash: string }[]>`select comment, plan_hash from approvals where deployment_id = ${d.id}`;
    expect(approval).toEqual({ comment: "looks right", plan_hash: d.planHash });

    const noReason = await cli(["deployment", "reject", "--deployment", d.id], { ...env, ...as("release2@demo.local") });
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toMatch(/needs --reason TEXT/);
    const rejected = await cli(["deployment", "reject", "--deployment", d.id, "--reason", "wrong maintenance window", "--json"], { ...env, ...as("release2@demo.local") });
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.json()).toMatchObject({ state: "rejected" });
    const [row] = await store.sql<{ state: string; reject_reason: string }[]>`select state, reject_reason from deployments where id = ${d.id}`;
    expect(row).toEqual({ state: "rejected", reject_reason: "wrong maintenance window" });

    const cancelRejected = await cli(["deployment", "cancel", "--deployment", d.id], { ...env, ...as("engineer@demo.local") });
    expect(cancelRejected.code).toBe(1);
    expect(cancelRejected.stderr).toMatch(/^error: The deployment was rejected; it can no longer be cancelled\./);

    const second = (await cli(["deployment", "create", "--env", "staging", "--json"], { ...env, ...as("engineer@demo.local") })).json<{ id: string }>();
    const notAuthor = await cli(["deployment", "cancel", "--deployment", second.id], { ...env, ...as("compliance@demo.local") });
    expect(notAuthor.code).toBe(1);
    const cancelled = await cli(["deployment", "cancel", "--deployment", second.id, "--json"], { ...env, ...as("engineer@demo.local") });
    expect(cancelled.json()).toMatchObject({ state: "cancelled" });

    const missing = await cli(["deployment", "show", "--deployment", "999999"], { ...env, ...as("engineer@demo.local") });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/There is no deployment #999999/);
    expect((await cli(["deployment", "bogus"], { ...env, ...as("engineer@demo.local") })).code).toBe(1);
    // Nothing of this reached the target.
    expect((await readStatus(staging.url, catalog)).current).toBe("0006_appointment_overlap");
  }, CLI_TIMEOUT);

  it("refuses rollback --to and --all on a gated environment with code gated, and changes nothing", async () => {
    const before = await readStatus(staging.url, catalog);
    for (const how of [["--to", "0001_core_tables"], ["--all"]]) {
      const res = await cli(["rollback", "--env", "staging", ...how, "--json"], env);
      expect(res.code).toBe(1);
      expect(res.json()).toEqual({ ok: false, error: { code: "gated", message: expect.stringMatching(/^staging requires 1 release-manager approval: roll back through a deployment in the console/) } });
    }
    expect(await readStatus(staging.url, catalog)).toEqual(before);

    const ungated = await cli(["rollback", "--env", "local", "--to", "0006_appointment_overlap", "--json"], env);
    expect(ungated.code, ungated.stderr).toBe(0);
    expect(ungated.json()).toMatchObject({ ok: true, direction: "down", migrations: ["0007_row_level_security"], current: "0006_appointment_overlap" });
  }, CLI_TIMEOUT);
});
