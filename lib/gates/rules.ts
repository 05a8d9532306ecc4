/**
 * The gate registry: every deployment action, who may take it and when. One place, pure: the
 * server enforces these decisions and the UI shows their reasons on disabled buttons.
 */
import type { Role } from "../auth/roles";
import type { GatePolicy } from "../config/environments";
import { isOpenState, type DeploymentState } from "../store/schema/deployment-states";
import type { DeploymentKind } from "../store/schema/deployments";

export const DEPLOYMENT_ACTIONS = ["approve", "signoff", "reject", "apply", "cancel", "rollback", "replan"] as const;
export type DeploymentAction = (typeof DEPLOYMENT_ACTIONS)[number];

export interface GateApproval {
  userId: string;
  userName: string;
  kind: "release_approval" | "compliance_signoff";
  planHash: string;
  /** The plan revision it was given on; only the deployment's current revision counts. */
  planRevision: number;
}

export interface GateContext {
  actor: { id: string; role: Role };
  deployment: {
    state: DeploymentState;
    kind: DeploymentKind;
    createdBy: string;
    planHash: string;
    planRevision: number;
    requiresComplianceSignoff: boolean;
    blockers: string[];
    rehearsalOk: boolean;
    hasMigrations: boolean;
  };
  environment: { name: string; gates: GatePolicy };
  approvals: GateApproval[];
  /** For an environment that promotes from another: whether every migration passed there. */
  promotion: { ok: true } | { ok: false; reason: string };
  /**
   * Whether the stored plan still describes what would run: its basis recomputed against the
   * files and the live target. Not checked (ok) where no action depends on it.
   */
  planCurrent: { ok: true } | { ok: false; code: "stale_plan" | "unreachable"; reason: string };
  now: Date;
}

export interface GateDecision {
  allowed: boolean;
  /** Why not, in words a person can act on; null when allowed. */
  reason: string | null;
  /** The error code a refusal is reported with (lib/errors): a missing role or a gate, a stale plan, promotion. */
  code: "forbidden" | "stale_plan" | "unreachable" | "promotion" | null;
}

/** What approval progress depends on: the approvals, the plan, the environment's policy. */
export interface ProgressInput {
  approvals: GateApproval[];
  deployment: Pick<GateContext["deployment"], "planHash" | "planRevision" | "requiresComplianceSignoff">;
  environment: Pick<GateContext["environment"], "gates">;
}

/**
 * Approvals that count: given on the current plan revision. Earlier ones were voided by a plan
 * change and stay void, even when a later plan has an earlier plan's hash again.
 */
export function currentApprovals(ctx: ProgressInput) {
  const valid = ctx.approvals.filter((a) => a.planRevision === ctx.deployment.planRevision && a.planHash === ctx.deployment.planHash);
  return {
    release: valid.filter((a) => a.kind === "release_approval"),
    signoff: valid.filter((a) => a.kind === "compliance_signoff"),
  };
}

export function complianceRequired(ctx: ProgressInput): boolean {
  const policy = ctx.environment.gates.complianceSignoff;
  return policy === "always" || (policy === "when-findings-require" && ctx.deployment.requiresComplianceSignoff);
}

export interface ApprovalProgress {
  releaseApprovals: { have: number; need: number; by: string[] };
  compliance: { required: boolean; given: boolean; by: string[] };
  complete: boolean;
  /** Who still has to act, in words. */
  waitingOn: string[];
}

export function approvalProgress(ctx: ProgressInput): ApprovalProgress {
  const { release, signoff } = currentApprovals(ctx);
  const need = ctx.environment.gates.releaseManagerApprovals;
  const required = complianceRequired(ctx);
  const waitingOn: string[] = [];
  if (release.length < need) waitingOn.push(`${need - release.length} more release-manager approval(s)`);
  if (required && signoff.length === 0) waitingOn.push("a compliance officer's sign-off (the plan touches personal or health data, RLS or policies)");
  return {
    releaseApprovals: { have: release.length, need, by: release.map((a) => a.userName) },
    compliance: { required, given: signoff.length > 0, by: signoff.map((a) => a.userName) },
    complete: waitingOn.length === 0,
    waitingOn,
  };
}

/** The freeze window in force at `now`, if any: no apply or rollback starts then, from any face. */
export function activeFreezeWindow(gates: Pick<GatePolicy, "freezeWindows">, now: Date) {
  return gates.freezeWindows.find((w) => new Date(w.start) <= now && now < new Date(w.end));
}

function activeFreeze(ctx: GateContext) {
  return activeFreezeWindow(ctx.environment.gates, ctx.now);
}

type Rule = { roles: readonly Role[]; check: (ctx: GateContext) => string | null };

const reviewable = (ctx: GateContext): string | null => {
  if (!isOpenState(ctx.deployment.state)) return `The deployment is ${ctx.deployment.state.replace("_", " ")}; nothing to review.`;
  if (ctx.deployment.blockers.length > 0) return `The plan is blocked: ${ctx.deployment.blockers[0]}`;
  if (!ctx.deployment.rehearsalOk) return "The rehearsal failed: fix the migration and recompute the plan.";
  if (!ctx.promotion.ok) return ctx.promotion.reason;
  if (!ctx.planCurrent.ok) return ctx.planCurrent.reason;
  return null;
};

export const GATES: Record<DeploymentAction, Rule> = {
  approve: {
    roles: ["release_manager"],
    check: (ctx) => {
      const notReviewable = reviewable(ctx);
      if (notReviewable) return notReviewable;
      if (ctx.deployment.createdBy === ctx.actor.id) return "You created this deployment; someone else must approve it.";
      if (currentApprovals(ctx).release.some((a) => a.userId === ctx.actor.id)) return "You already approved this plan.";
      if (ctx.environment.gates.releaseManagerApprovals === 0) return `${ctx.environment.name} needs no release-manager approval.`;
      return null;
    },
  },
  signoff: {
    roles: ["compliance_officer"],
    check: (ctx) => {
      const notReviewable = reviewable(ctx);
      if (notReviewable) return notReviewable;
      if (!complianceRequired(ctx)) return "This plan touches no personal or health data, RLS or policies: no compliance sign-off is needed.";
      if (ctx.deployment.createdBy === ctx.actor.id) return "You created this deployment; another compliance officer must sign it off.";
      if (currentApprovals(ctx).signoff.some((a) => a.userId === ctx.actor.id)) return "You already signed off this plan.";
      return null;
    },
  },
  reject: {
    roles: ["release_manager", "compliance_officer"],
    check: (ctx) => (isOpenState(ctx.deployment.state) ? null : `The deployment is ${ctx.deployment.state.replace("_", " ")}; it can no longer be rejected.`),
  },
  apply: {
    roles: ["release_manager", "engineer"],
    check: (ctx) => {
      if (ctx.actor.role === "engineer" && ctx.environment.gates.releaseManagerApprovals > 0) return `Only a release manager may start a deployment on ${ctx.environment.name}.`;
      if (ctx.deployment.state !== "approved") {
        return ctx.deployment.state === "awaiting_approval" ? `Waiting for ${approvalProgress(ctx).waitingOn.join(" and ")}.` : `The deployment is ${ctx.deployment.state.replace("_", " ")}.`;
      }
      if (!ctx.deployment.hasMigrations) return "Nothing to apply: the target is already at this version.";
      const progress = approvalProgress(ctx);
      if (!progress.complete) return `Waiting for ${progress.waitingOn.join(" and ")}.`;
      const freeze = activeFreeze(ctx);
      if (freeze) return `${ctx.environment.name} is frozen until ${freeze.end}: ${freeze.reason}`;
      if (!ctx.promotion.ok) return ctx.promotion.reason;
      if (!ctx.planCurrent.ok) return ctx.planCurrent.reason;
      return null;
    },
  },
  cancel: {
    roles: ["engineer", "release_manager"],
    check: (ctx) => {
      if (!isOpenState(ctx.deployment.state) && ctx.deployment.state !== "queued") return `The deployment is ${ctx.deployment.state.replace("_", " ")}; it can no longer be cancelled.`;
      if (ctx.actor.role === "engineer" && ctx.deployment.createdBy !== ctx.actor.id) return "Only its author or a release manager may cancel a deployment.";
      return null;
    },
  },
  rollback: {
    roles: ["engineer", "release_manager"],
    check: (ctx) => {
      if (ctx.deployment.kind !== "apply") return "Only an applied deployment can be rolled back.";
      if (ctx.deployment.state !== "succeeded") return "Only a deployment that succeeded can be rolled back.";
      return null;
    },
  },
  replan: {
    roles: ["engineer", "release_manager"],
    check: (ctx) => (isOpenState(ctx.deployment.state) ? null : `The deployment is ${ctx.deployment.state.replace("_", " ")}; its plan is final.`),
  },
};

const ROLE_NAMES: Record<Role, string> = { engineer: "an engineer", release_manager: "a release manager", compliance_officer: "a compliance officer", admin: "an admin" };

export function decide(action: DeploymentAction, ctx: GateContext): GateDecision {
  const rule = GATES[action];
  if (!rule.roles.includes(ctx.actor.role)) {
    return { allowed: false, reason: `Needs ${rule.roles.map((r) => ROLE_NAMES[r]).join(" or ")}.`, code: "forbidden" };
  }
  const reason = rule.check(ctx);
  if (reason === null) return { allowed: true, reason: null, code: null };
  const code = !ctx.promotion.ok && reason === ctx.promotion.reason ? "promotion" : !ctx.planCurrent.ok && reason === ctx.planCurrent.reason ? ctx.planCurrent.code : "forbidden";
  return { allowed: false, reason, code };
}

export function decideAll(ctx: GateContext): Record<DeploymentAction, GateDecision> {
  return Object.fromEntries(DEPLOYMENT_ACTIONS.map((a) => [a, decide(a, ctx)])) as Record<DeploymentAction, GateDecision>;
}
