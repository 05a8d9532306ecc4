/**
 * `deployment show|approve|reject|cancel` as each role and the gated refusal of `rollback`, with
 * their exit codes and `--json` shapes, against a real store and real targets.
 */
import { describe, expect, it } from "vitest";
import { readStatus } from "../../lib/executor";
import { cli } from "./cli-support";
import { as, CLI_TIMEOUT, consoleCliFixture } from "./console-fixture";

const fixture = consoleCliFixture("cli_review");

describe("deployment show, approve, reject, cancel and the gated rollback", () => {
  it("reviews a deployment as each role, exit 1 with the gate's reason when refused", async () => {
    const created = await cli(["deployment", "create", "--env", "staging", "--to", "0007_row_level_security", "--json"], { ...fixture.env, ...as("engineer@demo.local") });
    expect(created.code, created.stderr).toBe(0);
    const d = created.json<{ ok: true; id: string; number: number; environment: string; state: string; planHash: string; progress: { releaseApprovals: { have: number; need: number } }; decisions: Record<string, { allowed: boolean; reason: string | null }> }>();
    expect(d).toMatchObject({ ok: true, environment: "staging", state: "awaiting_approval", progress: { releaseApprovals: { have: 0, need: 1 } } });
    expect(d.decisions.approve).toMatchObject({ allowed: false, reason: "Needs a release manager." });

    const shown = await cli(["deployment", "show", "--deployment", `#${d.number}`], { ...fixture.env, ...as("release@demo.local") });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^deployment #${d.number} \\(${d.id}\\) on staging: awaiting_approval`));
    expect(shown.stdout).toMatch(/approvals: 0 of 1/);

    const selfApprove = await cli(["deployment", "approve", "--deployment", d.id, "--json"], { ...fixture.env, ...as("engineer@demo.local") });
    expect(selfApprove.code).toBe(1);
    expect(selfApprove.json()).toMatchObject({ ok: false, error: { code: "forbidden", message: "Needs a release manager." } });

    const approved = await cli(["deployment", "approve", "--deployment", d.id, "--comment", "looks right", "--json"], { ...fixture.env, ...as("release@demo.local") });
    expect(approved.code, approved.stderr).toBe(0);
    // 0007 changes RLS: still waiting for the compliance officer.
    expect(approved.json()).toMatchObject({ state: "awaiting_approval", progress: { releaseApprovals: { have: 1, need: 1 }, compliance: { required: true, given: false } } });
    const [approval] = await fixture.store.sql<{ comment: string; plan_hash: string }[]>`select comment, plan_hash from approvals where deployment_id = ${d.id}`;
    expect(approval).toEqual({ comment: "looks right", plan_hash: d.planHash });

    const noReason = await cli(["deployment", "reject", "--deployment", d.id], { ...fixture.env, ...as("release2@demo.local") });
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toMatch(/needs --reason TEXT/);
    const rejected = await cli(["deployment", "reject", "--deployment", d.id, "--reason", "wrong maintenance window", "--json"], { ...fixture.env, ...as("release2@demo.local") });
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.json()).toMatchObject({ state: "rejected" });
    const [row] = await fixture.store.sql<{ state: string; reject_reason: string }[]>`select state, reject_reason from deployments where id = ${d.id}`;
    expect(row).toEqual({ state: "rejected", reject_reason: "wrong maintenance window" });

    const cancelRejected = await cli(["deployment", "cancel", "--deployment", d.id], { ...fixture.env, ...as("engineer@demo.local") });
    expect(cancelRejected.code).toBe(1);
    expect(cancelRejected.stderr).toMatch(/^error: The deployment was rejected; it can no longer be cancelled\./);

    const second = (await cli(["deployment", "create", "--env", "staging", "--json"], { ...fixture.env, ...as("engineer@demo.local") })).json<{ id: string }>();
    const notAuthor = await cli(["deployment", "cancel", "--deployment", second.id], { ...fixture.env, ...as("compliance@demo.local") });
    expect(notAuthor.code).toBe(1);
    const cancelled = await cli(["deployment", "cancel", "--deployment", second.id, "--json"], { ...fixture.env, ...as("engineer@demo.local") });
    expect(cancelled.json()).toMatchObject({ state: "cancelled" });

    const missing = await cli(["deployment", "show", "--deployment", "999999"], { ...fixture.env, ...as("engineer@demo.local") });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/There is no deployment #999999/);
    expect((await cli(["deployment", "bogus"], { ...fixture.env, ...as("engineer@demo.local") })).code).toBe(1);
    // Nothing of this reached the target.
    expect((await readStatus(fixture.staging.url, fixture.catalog)).current).toBe("0006_appointment_overlap");
  }, CLI_TIMEOUT);

  it("refuses rollback --to and --all on a gated environment with code gated, and changes nothing", async () => {
    const before = await readStatus(fixture.staging.url, fixture.catalog);
    for (const how of [["--to", "0001_core_tables"], ["--all"]]) {
      const res = await cli(["rollback", "--env", "staging", ...how, "--json"], fixture.env);
      expect(res.code).toBe(1);
      expect(res.json()).toEqual({ ok: false, error: { code: "gated", message: expect.stringMatching(/^staging requires 1 release-manager approval: roll back through a deployment in the console/) } });
    }
    expect(await readStatus(fixture.staging.url, fixture.catalog)).toEqual(before);

    const ungated = await cli(["rollback", "--env", "local", "--to", "0006_appointment_overlap", "--json"], fixture.env);
    expect(ungated.code, ungated.stderr).toBe(0);
    expect(ungated.json()).toMatchObject({ ok: true, direction: "down", migrations: ["0007_row_level_security"], current: "0006_appointment_overlap" });
  }, CLI_TIMEOUT);
});
