import { describe, expect, it } from "vitest";
import { approvalProgress, decide, type GateContext } from "../../lib/gates/rules";
import { decideBackfill, type BackfillGateContext } from "../../lib/gates/backfill";

function context(overrides: Partial<GateContext> = {}, deployment: Partial<GateContext["deployment"]> = {}): GateContext {
  return {
    actor: { id: "rm-1", role: "release_manager" },
    deployment: {
      state: "awaiting_approval",
      kind: "apply",
      createdBy: "eng-1",
      planHash: "hash-2",
      planRevision: 2,
      requiresComplianceSignoff: false,
      blockers: [],
      rehearsalOk: true,
      hasMigrations: true,
      ...deployment,
    },
    environment: { name: "production", gates: { releaseManagerApprovals: 2, complianceSignoff: "when-findings-require", promotionFrom: "staging", freezeWindows: [] } },
    approvals: [],
    promotion: { ok: true },
    planCurrent: { ok: true },
    now: new Date("2026-11-25T12:00:00Z"),
    ...overrides,
  };
}

describe("the gate registry", () => {
  it("never lets the author approve their own deployment", () => {
    const decision = decide("approve", context({ actor: { id: "eng-1", role: "release_manager" } }));
    expect(decision).toEqual({ allowed: false, reason: "You created this deployment; someone else must approve it.", code: "forbidden" });
  });

  it("refuses by role with a reason that names the role needed", () => {
    expect(decide("approve", context({ actor: { id: "x", role: "engineer" } })).reason).toBe("Needs a release manager.");
    expect(decide("signoff", context({ actor: { id: "x", role: "admin" } }, { requiresComplianceSignoff: true })).reason).toBe("Needs a compliance officer.");
  });

  it("gives everyone the same reason when the deployment's state or plan is what refuses", () => {
    const roles = ["engineer", "release_manager", "compliance_officer", "admin"] as const;
    const reasons = (action: Parameters<typeof decide>[0], deployment: Partial<GateContext["deployment"]>) =>
      new Set(roles.map((role) => decide(action, context({ actor: { id: `x-${role}`, role } }, deployment)).reason));
    expect(reasons("approve", { state: "succeeded" })).toEqual(new Set(["The deployment has already succeeded; nothing to review."]));
    expect(reasons("signoff", { state: "rejected" })).toEqual(new Set(["The deployment was rejected; nothing to review."]));
    expect(reasons("signoff", {})).toEqual(new Set(["This plan touches no personal or health data, RLS or policies: no compliance sign-off is needed."]));
    expect(reasons("cancel", { state: "running" })).toEqual(new Set(["The deployment is running; it can no longer be cancelled."]));
    expect(reasons("rollback", { state: "failed" })).toEqual(new Set(["Only a deployment that succeeded can be rolled back."]));
  });

  it("counts only approvals given on the current plan: a new plan voids older ones", () => {
    const approvals = [
      { userId: "rm-2", userName: "Bruno", kind: "release_approval" as const, planHash: "hash-1", planRevision: 1 },
      { userId: "rm-3", userName: "Camila", kind: "release_approval" as const, planHash: "hash-2", planRevision: 2 },
    ];
    const progress = approvalProgress(context({ approvals }));
    expect(progress.releaseApprovals).toEqual({ have: 1, need: 2, by: ["Camila"] });
    expect(progress.complete).toBe(false);
  });

  it("keeps an approval of an earlier revision void when a later plan has that revision's hash again", () => {
    // Revision 1 had hash-2, was approved, then a file changed (revision 2) and was reverted (revision 3: hash-2 again).
    const approvals = [{ userId: "rm-2", userName: "Bruno", kind: "release_approval" as const, planHash: "hash-2", planRevision: 1 }];
    expect(approvalProgress(context({ approvals }, { planRevision: 3 })).releaseApprovals.have).toBe(0);
    expect(approvalProgress(context({ approvals }, { planRevision: 1 })).releaseApprovals.have).toBe(1);
  });

  it("refuses approve, sign-off and apply of a stale plan with the stale_plan code, and of a plan promotion forbids with promotion", () => {
    const stale = context({ planCurrent: { ok: false, code: "stale_plan", reason: "The plan is stale: recompute it." } });
    expect(decide("approve", stale)).toEqual({ allowed: false, reason: "The plan is stale: recompute it.", code: "stale_plan" });
    expect(decide("signoff", { ...stale, actor: { id: "co-1", role: "compliance_officer" }, deployment: { ...stale.deployment, requiresComplianceSignoff: true } }).code).toBe("stale_plan");
    const blocked = context({ promotion: { ok: false, reason: "Production only takes migrations already applied on Staging" } });
    expect(decide("approve", blocked)).toMatchObject({ allowed: false, code: "promotion" });
    // Role refusals come first: a stale plan is not news to someone who may not approve anyway.
    expect(decide("approve", { ...stale, actor: { id: "e", role: "engineer" } }).code).toBe("forbidden");
  });

  it("asks for a compliance sign-off exactly when a finding touches tagged data, RLS or policies", () => {
    expect(approvalProgress(context({}, { requiresComplianceSignoff: false })).compliance.required).toBe(false);
    const needed = approvalProgress(context({}, { requiresComplianceSignoff: true }));
    expect(needed.compliance).toMatchObject({ required: true, given: false });
    expect(needed.waitingOn.join()).toMatch(/compliance officer's sign-off/);
    expect(decide("signoff", context({ actor: { id: "co-1", role: "compliance_officer" } }, { requiresComplianceSignoff: false })).allowed).toBe(false);
  });

  it("applies only when approved, outside freeze windows, and after promotion upstream", () => {
    const approved = (o: Partial<GateContext> = {}) =>
      context(
        {
          approvals: [
            { userId: "rm-2", userName: "Bruno", kind: "release_approval", planHash: "hash-2", planRevision: 2 },
            { userId: "rm-3", userName: "Camila", kind: "release_approval", planHash: "hash-2", planRevision: 2 },
          ],
          ...o,
        },
        { state: "approved" },
      );
    expect(decide("apply", approved())).toEqual({ allowed: true, reason: null, code: null });
    expect(decide("apply", approved({ promotion: { ok: false, reason: "Production only takes migrations already applied on Staging" } })).reason).toMatch(/already applied on Staging/);
    const frozen = approved({
      environment: {
        name: "production",
        gates: { releaseManagerApprovals: 2, complianceSignoff: "when-findings-require", promotionFrom: "staging", freezeWindows: [{ start: "2026-11-25T00:00:00Z", end: "2026-11-26T00:00:00Z", reason: "Black Friday" }] },
      },
    });
    expect(decide("apply", frozen).reason).toMatch(/frozen until .*Black Friday/);
    expect(decide("apply", approved({ actor: { id: "eng-2", role: "engineer" } })).reason).toMatch(/Only a release manager/);
  });

  it("does not let anyone approve a blocked or unrehearsable plan", () => {
    expect(decide("approve", context({}, { blockers: ["0003 was edited after it ran"] })).reason).toMatch(/blocked: 0003 was edited/);
    expect(decide("approve", context({}, { rehearsalOk: false })).reason).toMatch(/rehearsal failed/);
  });
});

describe("the backfill gates", () => {
  const backfill = (state: GateContext["deployment"]["state"], progress: BackfillGateContext["progress"] = { status: "running", control: "run" }): BackfillGateContext => ({
    actor: { role: "release_manager" },
    deployment: { kind: "backfill", state },
    progress,
  });

  it("says in a sentence why a backfill that is not running cannot be paused, never 'is succeeded'", () => {
    const reasons = (["succeeded", "failed", "cancelled", "queued"] as const).map((state) => decideBackfill("pause", backfill(state)).reason);
    expect(reasons).toEqual([
      "The backfill is not running: the deployment has already succeeded.",
      "The backfill is not running: the deployment failed.",
      "The backfill is not running: the deployment was cancelled.",
      "The backfill is not running: the deployment is queued.",
    ]);
    expect(decideBackfill("pause", backfill("running", null)).reason).toBe("The backfill has not started yet: the worker has not picked it up.");
    expect(decideBackfill("pause", backfill("running"))).toMatchObject({ allowed: true, reason: null });
  });
});
