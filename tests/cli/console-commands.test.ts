/**
 * The CLI commands that read the registry or act as a console user: `envs`, `plan` and `verify`, with
 * their exit codes and `--json` shapes, against a real store and real targets (`deployment …` and the
 * gated `rollback`: deployment-review-cli.test.ts).
 */
import { describe, expect, it } from "vitest";
import { applyMigrations, readStatus } from "../../lib/executor";
import { freshDatabase } from "../support/databases";
import { cli } from "./cli-support";
import { as, CLI_TIMEOUT, consoleCliFixture } from "./console-fixture";

const fixture = consoleCliFixture("cli_console");

describe("envs", () => {
  it("lists the environments in promotion order with their gates and whether each answers", async () => {
    const res = await cli(["envs", "--json"], fixture.env);
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
    expect(res.stdout).not.toContain(fixture.local.url.split("@")[0]!.split(":").at(-1)!);

    const text = await cli(["envs"], { ...fixture.env, TARGET_PRODUCTION_URL: "postgres://u:hunter2@127.0.0.1:1/none" });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/1\. local\s+ungated\s+answers \(PostgreSQL 18/);
    expect(text.stdout).toMatch(/3\. production\s+2 approvals\s+unreachable: /);
    expect(text.stdout).not.toContain("hunter2");
  }, CLI_TIMEOUT);
});

describe("plan", () => {
  it("prints the plan a deployment would get (exit 0), and exit 1 when the plan is blocked", async () => {
    const ok = await cli(["plan", "--env", "staging", "--json"], fixture.env);
    expect(ok.code, ok.stderr).toBe(0);
    const plan = ok.json<{ ok: true; hash: string; environment: string; kind: string; from: string; to: string; migrations: { tag: string }[]; findings: unknown[]; blockers: string[]; rehearsal: { ok: boolean }; requiresComplianceSignoff: boolean }>();
    expect(plan).toMatchObject({ ok: true, environment: "staging", kind: "apply", from: "0006_appointment_overlap", to: "0008_performance_indexes", blockers: [], rehearsal: { ok: true }, requiresComplianceSignoff: true });
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.migrations.map((m) => m.tag)).toEqual(["0007_row_level_security", "0008_performance_indexes"]);

    const text = await cli(["plan", "--env", "staging", "--to", "0007_row_level_security"], fixture.env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^staging: apply 0006_appointment_overlap -> 0007_row_level_security, 1 migration/);
    expect(text.stdout).toMatch(/rehearsal: ok in \d+ ms/);
    expect(text.stdout).toMatch(/plan hash: [0-9a-f]{64}/);

    // Nothing planned changes the target.
    expect((await readStatus(fixture.staging.url, fixture.catalog)).current).toBe("0006_appointment_overlap");

    const blocked = await cli(["plan", "--env", "staging", "--to", "0001_core_tables", "--json"], fixture.env);
    expect(blocked.code).toBe(1);
    expect(blocked.json<{ blockers: string[]; rehearsal: { ok: boolean } }>()).toMatchObject({ blockers: [expect.stringMatching(/that is a rollback, not an apply/)], rehearsal: { ok: false } });

    const unknownEnv = await cli(["plan", "--env", "qa", "--json"], fixture.env);
    expect(unknownEnv.code).toBe(1);
    expect(unknownEnv.json()).toMatchObject({ ok: false, error: { code: "invalid_input", message: 'Unknown environment "qa".' } });
    expect((await cli(["plan"], fixture.env)).code).toBe(2);
  }, CLI_TIMEOUT);
});

describe("verify", () => {
  it("--env records a snapshot as the console user (exit 0 when it passes, 1 when a check fails); --database-url records nothing", async () => {
    const count = async () => (await fixture.store.sql<{ n: number }[]>`select count(*)::int as n from verification_snapshots`)[0]!.n;
    const passing = await freshDatabase({ prefix: "cli_console_full" });
    try {
      await applyMigrations({ url: passing.url, catalog: fixture.catalog, actor: "test-setup" });
      const adHoc = await cli(["verify", "--database-url", passing.url, "--json"], fixture.env);
      expect(adHoc.code, adHoc.stderr).toBe(0);
      expect(adHoc.json()).toMatchObject({ ok: true, outcome: "passed", report: { counts: { fail: 0, error: 0 } } });
      expect(await count()).toBe(0);

      const recorded = await cli(["verify", "--env", "local", "--json"], { ...fixture.env, ...as("compliance@demo.local"), TARGET_LOCAL_URL: passing.url });
      expect(recorded.code, recorded.stderr).toBe(0);
      const out = recorded.json<{ environment: string; snapshotId: string; outcome: string }>();
      expect(out).toMatchObject({ ok: true, environment: "local", outcome: "passed" });
      const [snapshot] = await fixture.store.sql<{ id: string; trigger: string; outcome: string; target_version: string }[]>`select id, trigger, outcome, target_version from verification_snapshots`;
      expect(snapshot).toEqual({ id: out.snapshotId, trigger: "cli", outcome: "passed", target_version: "0008_performance_indexes" });
      const [audit] = await fixture.store.sql<{ actor_email: string; details: { trigger: string; snapshotId: string } }[]>`select actor_email, details from audit_events where action = 'verification.ran'`;
      expect(audit).toMatchObject({ actor_email: "compliance@demo.local", details: { trigger: "cli", snapshotId: out.snapshotId } });

      await passing.sql`ALTER TABLE lgpd.lgpd_consents DISABLE TRIGGER lgpd_consents_guard_hash`;
      const failing = await cli(["verify", "--env", "local"], { ...fixture.env, ...as(null), TARGET_LOCAL_URL: passing.url });
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/FAIL /);
      expect(await count()).toBe(2);
      const [last] = await fixture.store.sql<{ outcome: string }[]>`select outcome from verification_snapshots order by created_at desc limit 1`;
      expect(last!.outcome).toBe("failed");

      const unreachable = await cli(["verify", "--database-url", "postgres://u:hunter2@127.0.0.1:1/none"], fixture.env);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).not.toContain("hunter2");
    } finally {
      await passing.drop();
    }
  }, CLI_TIMEOUT);
});
