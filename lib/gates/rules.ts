/**
 * The gate registry: every deployment action, who may take it and when. One place, pure: the
 * server enforces these decisions and the UI shows their reasons on disabled buttons.
 */
import { can, rolesFor, type Permission } from "../auth/permissions";
import type { Role } from "../auth/roles";
import type { GatePolicy } from "../config/environments";
import { plural } from "../format";
import { isOpenState, type DeploymentState } from "../store/schema/deployment-states";
import type { DeploymentKind } from "../store/schema/deployments";

export const DEPLOYMENT_ACTIONS = ["approve", "signoff", "reject", "apply", "cancel", "rollback", "replan"] as const;
export type DeploymentAction = (typeof DEPLOYMENT_ACTIONS)[number];

export interface GateApproval {
  userId: string;
  userName: string;
  /** Shown beside the name: two people can share a name. */
  userEmail?: string;
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

const approverName = (a: GateApproval) => (a.userEmail ? `${a.userName} <${a.userEmail}>` : a.userName);

export function approvalProgress(ctx: ProgressInput): ApprovalProgress {
  const { release, signoff } = currentApprovals(ctx);
  const need = ctx.environment.gates.releaseManagerApprovals;
  const required = complianceRequired(ctx);
  const waitingOn: string[] = [];
  if (release.length < need) waitingOn.push(`${need - release.length} more release-manager ${need - release.length === 1 ? "approval" : "approvals"}`);
  if (required && signoff.length === 0) waitingOn.push("a compliance officer's sign-off (the plan touches personal or health data, RLS or policies)");
  return {
    releaseApprovals: { have: release.length, need, by: release.map(approverName) },
    compliance: { required, given: signoff.length > 0, by: signoff.map(approverName) },
    complete: waitingOn.length === 0,
    waitingOn,
  };
}

/** The freeze window in force at `now`, if any: no apply or rollback starts then, from any face. */
export function activeFreezeWindow(gates: Pick<GatePolicy, "freezeWindows">, now: Date) {
  return gates.freezeWindows.find((w) => new Date(w.start) <= now && now < new Date(w.end));
}

function activeFreeze(ctx: Pick<GateContext, "environment" | "now">) {
  return activeFreezeWindow(ctx.environment.gates, ctx.now);
}

/**
 * Who may take the action comes from the permission map. `when`: what the deployment's state alone
 * forbids, checked before the role so that everyone gets the same reason for the same refusal;
 * `check`: what depends on who asks.
 */
type Rule = { permission: Permission; when?: (ctx: GateContext) => string | null; check: (ctx: GateContext) => string | null };

const STATE_SENTENCE: Record<DeploymentState, string> = {
  awaiting_approval: "The deployment is awaiting approval",
  approved: "The deployment is approved",
  queued: "The deployment is queued",
  running: "The deployment is running",
  succeeded: "The deployment has already succeeded",
  failed: "The deployment failed",
  rejected: "The deployment was rejected",
  cancelled: "The deployment was cancelled",
};

/** "The deployment has already succeeded", "The deployment was rejected": never "is succeeded". */
export function deploymentStateSentence(state: DeploymentState): string {
  return STATE_SENTENCE[state];
}

/** What the deployment's state alone forbids a reviewer: the same reason whoever asks. */
const openForReview = (ctx: GateContext): string | null => (isOpenState(ctx.deployment.state) ? null : `${deploymentStateSentence(ctx.deployment.state)}; nothing to review.`);

/** Why the plan itself can never run (a blocker, a failed rehearsal), whatever the approvals. */
const notRunnable = (ctx: GateContext): string | null => {
  if (ctx.deployment.blockers.length > 0) return `The plan is blocked: ${ctx.deployment.blockers[0]}`;
  if (!ctx.deployment.rehearsalOk) return `The rehearsal failed: fix the ${ctx.deployment.kind === "backfill" ? "backfill file" : "migration"} and recompute the plan.`;
  return null;
};

const reviewable = (ctx: GateContext): string | null => {
  if (!isOpenState(ctx.deployment.state)) return `${deploymentStateSentence(ctx.deployment.state)}; nothing to review.`;
  const never = notRunnable(ctx);
  if (never) return never;
  if (!ctx.promotion.ok) return ctx.promotion.reason;
  if (!ctx.planCurrent.ok) return ctx.planCurrent.reason;
  return null;
};

export const GATES: Record<DeploymentAction, Rule> = {
  approve: {
    permission: "deployment:approve",
    when: openForReview,
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
    permission: "deployment:signoff",
    when: (ctx) => openForReview(ctx) ?? (complianceRequired(ctx) ? null : "This plan touches no personal or health data, RLS or policies: no compliance sign-off is needed."),
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
    permission: "deployment:reject",
    when: (ctx) => (isOpenState(ctx.deployment.state) ? null : `${deploymentStateSentence(ctx.deployment.state)}; it can no longer be rejected.`),
    check: () => null,
  },
  apply: {
    permission: "deployment:apply",
    when: (ctx) => {
      if (ctx.deployment.state === "approved") return null;
      if (ctx.deployment.state !== "awaiting_approval") return `${deploymentStateSentence(ctx.deployment.state)}.`;
      // A plan that can never run says so first: with every approval given it stays awaiting.
      return notRunnable(ctx) ?? `Waiting for ${approvalProgress(ctx).waitingOn.join(" and ")}.`;
    },
    check: (ctx) => {
      if (ctx.environment.gates.releaseManagerApprovals > 0 && !can(ctx.actor.role, "deployment:apply-gated")) return `Only a release manager may start a deployment on ${ctx.environment.name}.`;
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
    permission: "deployment:cancel",
    when: (ctx) => (isOpenState(ctx.deployment.state) || ctx.deployment.state === "queued" ? null : `${deploymentStateSentence(ctx.deployment.state)}; it can no longer be cancelled.`),
    check: (ctx) => {
      if (ctx.deployment.createdBy !== ctx.actor.id && !can(ctx.actor.role, "deployment:cancel-others")) return "Only its author or a release manager may cancel a deployment.";
      return null;
    },
  },
  rollback: {
    permission: "deployment:rollback",
    when: (ctx) => {
      if (ctx.deployment.kind !== "apply") return "Only an applied deployment can be rolled back.";
      if (ctx.deployment.state !== "succeeded") return "Only a deployment that succeeded can be rolled back.";
      return null;
    },
    check: () => null,
  },
  replan: {
    permission: "deployment:replan",
    when: (ctx) => (isOpenState(ctx.deployment.state) ? null : `${deploymentStateSentence(ctx.deployment.state)}; its plan is final.`),
    check: () => null,
  },
};

const ROLE_NAMES: Record<Role, string> = { engineer: "an engineer", release_manager: "a release manager", compliance_officer: "a compliance officer", admin: "an admin" };

/** The permission map's answer, in the gate's words; null when the role may. */
export function roleRefusal(role: Role, permission: Permission): string | null {
  const roles = rolesFor(permission);
  return roles.includes(role) ? null : `Needs ${roles.map((r) => ROLE_NAMES[r]).join(" or ")}.`;
}

export function decide(action: DeploymentAction, ctx: GateContext): GateDecision {
  const rule = GATES[action];
  // What the deployment's state forbids comes first: everyone gets the same reason for it. Plan
  // freshness and promotion come after the role (no news to someone who may not act anyway).
  const stateReason = rule.when?.(ctx) ?? null;
  const refusal = stateReason === null ? roleRefusal(ctx.actor.role, rule.permission) : null;
  if (refusal) return { allowed: false, reason: refusal, code: "forbidden" };
  const reason = stateReason ?? rule.check(ctx);
  if (reason === null) return { allowed: true, reason: null, code: null };
  const code = !ctx.promotion.ok && reason === ctx.promotion.reason ? "promotion" : !ctx.planCurrent.ok && reason === ctx.planCurrent.reason ? ctx.planCurrent.code : "forbidden";
  return { allowed: false, reason, code };
}

/** What the gates before a deployment exists look at: who, where, when. */
export interface EnvironmentGateContext {
  /** Null when no console user acts (the CLI's direct apply with a target URL in hand). */
  actor: { id: string; role: Role } | null;
  environment: { name: string; gates: GatePolicy };
  now: Date;
}

function refusedOrAllowed(reason: string | null): GateDecision {
  return reason === null ? { allowed: true, reason: null, code: null } : { allowed: false, reason, code: "forbidden" };
}

/**
 * Opening a deployment: whether the role may. What a plan could never pass (promotion, an
 * unreachable target) is decided by the lifecycle with the facts it gathers (lib/deployments).
 */
export function decideCreate(ctx: EnvironmentGateContext): GateDecision {
  return refusedOrAllowed(ctx.actor && roleRefusal(ctx.actor.role, "deployment:create"));
}

/**
 * Applying or rolling back without a deployment (CLI): only where no approval is required and no
 * freeze is on; gated environments change only through an approved deployment.
 */
export function decideDirectApply(ctx: EnvironmentGateContext & { kind: "apply" | "rollback" }): GateDecision {
  const approvals = ctx.environment.gates.releaseManagerApprovals;
  const freeze = activeFreeze(ctx);
  return refusedOrAllowed(
    (ctx.actor && roleRefusal(ctx.actor.role, "apply:direct")) ??
      (approvals > 0
        ? `${ctx.environment.name} requires ${plural(approvals, "release-manager approval")}: ${ctx.kind === "apply" ? "apply" : "roll back"} through a deployment in the console, not directly from the CLI.`
        : freeze
          ? `${ctx.environment.name} is frozen until ${freeze.end}: ${freeze.reason}`
          : null),
  );
}

/** What a page or the CLI shows for each action: allowed, or why not (the code stays with the server's refusal). */
export type ShownDecision = Omit<GateDecision, "code">;

export function decideAll(ctx: GateContext): Record<DeploymentAction, ShownDecision> {
  return Object.fromEntries(DEPLOYMENT_ACTIONS.map((a) => [a, (({ allowed, reason }) => ({ allowed, reason }))(decide(a, ctx))])) as Record<DeploymentAction, ShownDecision>;
}
