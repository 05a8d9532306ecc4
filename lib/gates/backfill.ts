/**
 * The gates of a running backfill: pause, resume and cancel, by a release manager. Pure, like the
 * deployment gates: the server enforces them and the UI shows their reasons on disabled buttons.
 */
import type { Role } from "../auth/roles";
import type { BackfillControl, BackfillStatus } from "../store/schema/backfills";
import type { DeploymentKind, DeploymentState } from "../store/schema/deployments";
import type { Permission } from "../auth/permissions";
import { deploymentStateSentence, roleRefusal, type GateDecision } from "./rules";

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

export const BACKFILL_ACTIONS = ["pause", "resume", "cancel"] as const;
export type BackfillAction = (typeof BACKFILL_ACTIONS)[number];

export interface BackfillGateContext {
  actor: { role: Role };
  deployment: { kind: DeploymentKind; state: DeploymentState };
  /** null before the runner first picked the deployment up. */
  progress: { status: BackfillStatus; control: BackfillControl } | null;
}

/** Who may take each action: the permission map (lib/auth/permissions) says. */
export const BACKFILL_PERMISSIONS = { pause: "backfill:pause", resume: "backfill:resume", cancel: "backfill:cancel" } as const satisfies Record<BackfillAction, Permission>;
const ACTIVE: readonly BackfillStatus[] = ["queued", "running", "throttled"];

function running(ctx: BackfillGateContext): string | null {
  if (ctx.deployment.kind !== "backfill") return "Only a backfill deployment can be paused, resumed or cancelled while it runs.";
  if (ctx.deployment.state === "running" && !ctx.progress) return "The backfill has not started yet: the worker has not picked it up.";
  if (ctx.deployment.state !== "running") return `The backfill is not running: ${lowerFirst(deploymentStateSentence(ctx.deployment.state))}.`;
  return null;
}

const CHECKS: Record<BackfillAction, (ctx: BackfillGateContext) => string | null> = {
  pause: (ctx) => {
    const not = running(ctx);
    if (not) return not;
    if (ctx.progress!.control === "cancel") return "The backfill is being cancelled.";
    if (ctx.progress!.control === "pause" || !ACTIVE.includes(ctx.progress!.status)) return "The backfill is already paused.";
    return null;
  },
  resume: (ctx) => {
    const not = running(ctx);
    if (not) return not;
    if (ctx.progress!.control === "cancel") return "The backfill is being cancelled.";
    if (ctx.progress!.control !== "pause" && ctx.progress!.status !== "paused") return "The backfill is not paused.";
    return null;
  },
  cancel: (ctx) => {
    const not = running(ctx);
    if (not) return not;
    if (ctx.progress!.control === "cancel") return "The backfill is already being cancelled.";
    return null;
  },
};

export function decideBackfill(action: BackfillAction, ctx: BackfillGateContext): GateDecision {
  const refusal = roleRefusal(ctx.actor.role, BACKFILL_PERMISSIONS[action]);
  if (refusal) return { allowed: false, reason: refusal, code: "forbidden" };
  const reason = CHECKS[action](ctx);
  return { allowed: reason === null, reason, code: reason === null ? null : "forbidden" };
}

export function decideAllBackfill(ctx: BackfillGateContext): Record<BackfillAction, GateDecision> {
  return Object.fromEntries(BACKFILL_ACTIONS.map((a) => [a, decideBackfill(a, ctx)])) as Record<BackfillAction, GateDecision>;
}
