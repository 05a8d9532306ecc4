/**
 * The lifecycle of a deployment and its runs: the only writer of the deployments, approvals, runs
 * and run_events tables. Every transition locks the deployment's row, checks that it may happen
 * from the current state, lets the caller's gate check run on that locked state, and commits the
 * change with its audit event in one transaction.
 *
 * The transitions know nothing of what a deployment carries: the plan is an opaque payload with a
 * hash, and what makes two requests "the same deployment" is the caller's `openKey`. A new kind
 * (a batched backfill, a backup step) adds its own commands around the same transitions.
 */
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { appendAuditEvent, type AuditActor } from "../audit/log";
import type { Actor } from "../auth/users";
import { AppError, sqlState } from "../errors";
import { approvalProgress, deploymentStateSentence, type GateApproval } from "../gates/rules";
import type { EnvironmentConfig } from "../config/environments";
import type { Plan } from "../plan/plan";
import type { Store, StoreExecutor, StoreTx } from "../store/db";
import { approvals, backfillProgress, deployments, runEvents, runs, users, type BackfillProgress, type Deployment, type Run } from "../store/schema";
import { DEPLOYMENT_STATE_GROUPS, type DeploymentState } from "../store/schema/deployment-states";
import type { RiskSummary } from "./risk";
import { complianceReasons } from "../plan/compliance";
import { notifyReviewNeeded, notifyRunFinished } from "../notifications/deployment-events";

export { DEPLOYMENT_STATE_GROUPS, isActiveState, isOpenState, isTerminalState, stateGroup } from "../store/schema/deployment-states";

const NOT_TERMINAL: DeploymentState[] = [...DEPLOYMENT_STATE_GROUPS.open, ...DEPLOYMENT_STATE_GROUPS.active];

/** Every transition and the states it may start from. */
export const TRANSITIONS = {
  review: DEPLOYMENT_STATE_GROUPS.open,
  replan: DEPLOYMENT_STATE_GROUPS.open,
  reject: DEPLOYMENT_STATE_GROUPS.open,
  cancel: [...DEPLOYMENT_STATE_GROUPS.open, "queued"],
  queue: ["approved"],
  claim: ["queued"],
  finish: ["running"],
} as const satisfies Record<string, readonly DeploymentState[]>;
export type Transition = keyof typeof TRANSITIONS;

/** The worker and the scheduler act as no person; their audit events say which. */
export const WORKER_ACTOR: AuditActor = { id: null, email: "worker" };

export type ApprovalKind = "release_approval" | "compliance_signoff";

/** The approvals of a deployment as the gates read them (all revisions; gates count the current one). */
export async function approvalsOf(db: StoreExecutor, deploymentId: string): Promise<GateApproval[]> {
  return db
    .select({ userId: approvals.userId, userName: users.name, userEmail: users.email, kind: approvals.kind, planHash: approvals.planHash, planRevision: approvals.planRevision })
    .from(approvals)
    .innerJoin(users, eq(users.id, approvals.userId))
    .where(eq(approvals.deploymentId, deploymentId))
    .orderBy(asc(approvals.createdAt));
}

/** Whether the plan alone is fit to run once approved: nothing blocks it and its rehearsal passed. */
export function planRunnable(plan: Plan): boolean {
  return plan.blockers.length === 0 && plan.rehearsal.ok;
}

/** Whether the plan needs the compliance officer (its findings, or drift touching RLS, policies or tagged data). */
export function planNeedsCompliance(plan: Plan): boolean {
  return plan.requiresComplianceSignoff || complianceReasons(plan).length > 0;
}

/** awaiting_approval or approved, from the approvals that count for the current revision. */
function reviewState(deployment: Pick<Deployment, "plan" | "planHash" | "planRevision">, list: GateApproval[], env: Pick<EnvironmentConfig, "gates">): DeploymentState {
  const progress = approvalProgress({
    approvals: list,
    deployment: { planHash: deployment.planHash, planRevision: deployment.planRevision, requiresComplianceSignoff: planNeedsCompliance(deployment.plan) },
    environment: env,
  });
  return progress.complete && planRunnable(deployment.plan) ? "approved" : "awaiting_approval";
}

/** Who still has to act, for the review notifications. */
function progressOf(deployment: Pick<Deployment, "plan" | "planHash" | "planRevision">, list: GateApproval[], env: Pick<EnvironmentConfig, "gates">) {
  return approvalProgress({
    approvals: list,
    deployment: { planHash: deployment.planHash, planRevision: deployment.planRevision, requiresComplianceSignoff: planNeedsCompliance(deployment.plan) },
    environment: env,
  });
}

type Check = (deployment: Deployment, tx: StoreTx) => Promise<void> | void;

/** Locks the row, runs the caller's gate check on the locked state, and refuses a transition its state does not allow. */
async function lockFor(tx: StoreTx, id: string, transition: Transition, check?: Check): Promise<Deployment> {
  const [deployment] = await tx.select().from(deployments).where(eq(deployments.id, id)).for("update");
  if (!deployment) throw new AppError("not_found", "That deployment does not exist.");
  // The gate check first: its reason is the one written for people. The table is the safety net.
  if (check) await check(deployment, tx);
  if (!(TRANSITIONS[transition] as readonly string[]).includes(deployment.state)) {
    throw new AppError("conflict", `${deploymentStateSentence(deployment.state).replace("The deployment", `Deployment #${deployment.number}`)}: it cannot ${transition === "finish" ? "finish" : transition} now.`);
  }
  return deployment;
}

/** The unfinished deployment with this key on the environment, if any. */
export async function findUnfinished(db: StoreExecutor, environmentId: string, openKey: string): Promise<Deployment | undefined> {
  const [row] = await db
    .select()
    .from(deployments)
    .where(and(eq(deployments.environmentId, environmentId), eq(deployments.openKey, openKey), inArray(deployments.state, NOT_TERMINAL)))
    .limit(1);
  return row;
}

export interface OpenRequest {
  environment: EnvironmentConfig;
  environmentId: string;
  kind: Deployment["kind"];
  targetTag: string | null;
  /** backfill: its name in db/backfills. */
  backfillName?: string | null;
  openKey: string;
  plan: Plan;
  risk: RiskSummary | null;
  /** Why the author declined the backup of destroyed data ("declined by ...: reason"); null backs it up. */
  backupDeclinedReason?: string | null;
  /** Audit details beyond the ones every opening records. */
  details?: Record<string, unknown>;
}

/**
 * Opens a deployment, or returns the unfinished one with the same key (`existing: true`). The
 * partial unique index decides between concurrent callers: exactly one insert wins, the others
 * wait for it to commit and read its row.
 */
export async function openDeployment(store: Store, actor: Actor, request: OpenRequest): Promise<{ deployment: Deployment; existing: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await store.db.transaction(async (tx) => {
      const state = reviewState({ plan: request.plan, planHash: request.plan.hash, planRevision: 1 }, [], request.environment);
      const [row] = await tx
        .insert(deployments)
        .values({
          environmentId: request.environmentId,
          kind: request.kind,
          targetTag: request.targetTag,
          backfillName: request.backfillName ?? null,
          openKey: request.openKey,
          state,
          createdBy: actor.id,
          plan: request.plan,
          planHash: request.plan.hash,
          planRevision: 1,
          risk: request.risk,
          backupDeclinedReason: request.backupDeclinedReason ?? null,
        })
        .onConflictDoNothing()
        .returning();
      if (!row) return null;
      await appendAuditEvent(tx, actor, {
        action: "deployment.created",
        subjectType: "deployment",
        subjectId: row.id,
        details: {
          number: row.number,
          environment: request.environment.name,
          kind: request.kind,
          from: request.plan.from,
          to: request.plan.to,
          planHash: request.plan.hash,
          planRevision: 1,
          migrations: request.plan.migrations.map((m) => m.tag),
          findings: request.plan.findings.length,
          destroys: (request.plan.destroys ?? []).length,
          backupDeclined: request.backupDeclinedReason ?? null,
          ...request.details,
        },
      });
      await notifyReviewNeeded(tx, row, request.environment, progressOf(row, [], request.environment), actor);
      return row;
    });
    if (result) return { deployment: result, existing: false };
    const existing = await findUnfinished(store.db, request.environmentId, request.openKey);
    if (existing) return { deployment: existing, existing: true };
    // The other deployment finished between our insert and our read: try again.
  }
  throw new AppError("conflict", "Another deployment to the same target kept changing state; try again.");
}

/** Records an approval or sign-off on the current plan revision and moves the state accordingly. */
export async function recordReview(
  store: Store,
  actor: Actor,
  id: string,
  review: { kind: ApprovalKind; comment: string | null; environment: EnvironmentConfig },
  check: Check,
): Promise<Deployment> {
  return store.db.transaction(async (tx) => {
    const deployment = await lockFor(tx, id, "review", check);
    await tx.insert(approvals).values({ deploymentId: id, userId: actor.id, kind: review.kind, planHash: deployment.planHash, planRevision: deployment.planRevision, comment: review.comment });
    const state = reviewState(deployment, await approvalsOf(tx, id), review.environment);
    const [row] = await tx.update(deployments).set({ state, updatedAt: new Date() }).where(eq(deployments.id, id)).returning();
    await appendAuditEvent(tx, actor, {
      action: review.kind === "release_approval" ? "deployment.approved" : "deployment.signed_off",
      subjectType: "deployment",
      subjectId: id,
      details: { number: deployment.number, planHash: deployment.planHash, planRevision: deployment.planRevision, comment: review.comment, nowApproved: state === "approved" },
    });
    return row!;
  });
}

/** A refused action worth evidence (a stale plan at approval, a promotion refusal): audited, nothing changes. */
export async function recordRefusal(store: Store, actor: Actor, id: string, refusal: { action: string; code: string; message: string; details?: Record<string, unknown> }): Promise<void> {
  await store.db.transaction(async (tx) => {
    const [deployment] = await tx.select({ number: deployments.number, planHash: deployments.planHash, planRevision: deployments.planRevision }).from(deployments).where(eq(deployments.id, id));
    await appendAuditEvent(tx, actor, {
      action: "deployment.refused",
      subjectType: "deployment",
      subjectId: id,
      details: { number: deployment?.number ?? null, attempted: refusal.action, code: refusal.code, reason: refusal.message, planHash: deployment?.planHash ?? null, planRevision: deployment?.planRevision ?? null, ...refusal.details },
    });
  });
}

export async function rejectDeployment(store: Store, actor: Actor, id: string, reason: string, check: Check): Promise<Deployment> {
  return store.db.transaction(async (tx) => {
    const deployment = await lockFor(tx, id, "reject", check);
    const [row] = await tx.update(deployments).set({ state: "rejected", rejectReason: reason, updatedAt: new Date() }).where(eq(deployments.id, id)).returning();
    await appendAuditEvent(tx, actor, { action: "deployment.rejected", subjectType: "deployment", subjectId: id, details: { number: deployment.number, from: deployment.state, reason, comment: reason } });
    return row!;
  });
}

export async function cancelDeployment(store: Store, actor: Actor, id: string, comment: string | null, check: Check): Promise<Deployment> {
  return store.db.transaction(async (tx) => {
    const deployment = await lockFor(tx, id, "cancel", check);
    const [row] = await tx.update(deployments).set({ state: "cancelled", updatedAt: new Date() }).where(eq(deployments.id, id)).returning();
    await appendAuditEvent(tx, actor, { action: "deployment.cancelled", subjectType: "deployment", subjectId: id, details: { number: deployment.number, from: deployment.state, comment } });
    return row!;
  });
}

/**
 * Stores a recomputed plan. A plan that differs from the stored one becomes a new revision, which
 * voids every approval given before (they stay on record, bound to their revision) even if a
 * later recomputation produces an earlier hash again.
 */
export async function replan(store: Store, actor: Actor, id: string, next: { plan: Plan; risk: RiskSummary | null; environment: EnvironmentConfig }, check: Check): Promise<Deployment> {
  return store.db.transaction(async (tx) => {
    const deployment = await lockFor(tx, id, "replan", check);
    const changed = next.plan.hash !== deployment.planHash;
    const planRevision = changed ? deployment.planRevision + 1 : deployment.planRevision;
    const state = reviewState({ plan: next.plan, planHash: next.plan.hash, planRevision }, await approvalsOf(tx, id), next.environment);
    const [row] = await tx
      .update(deployments)
      .set({ plan: next.plan, planHash: next.plan.hash, planRevision, risk: next.risk, state, updatedAt: new Date() })
      .where(eq(deployments.id, id))
      .returning();
    await appendAuditEvent(tx, actor, {
      action: "deployment.plan_recomputed",
      subjectType: "deployment",
      subjectId: id,
      details: { number: deployment.number, oldPlanHash: deployment.planHash, newPlanHash: next.plan.hash, oldRevision: deployment.planRevision, newRevision: planRevision, approvalsVoided: changed },
    });
    if (changed) {
      const [author] = await tx.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, row!.createdBy));
      await notifyReviewNeeded(tx, row!, next.environment, progressOf(row!, await approvalsOf(tx, id), next.environment), author ?? actor);
    }
    return row!;
  });
}

/** Hands an approved deployment to the workers, naming who started it. */
export async function queueDeployment(store: Store, actor: Actor, id: string, environmentLabel: string, check: Check): Promise<Deployment> {
  try {
    return await store.db.transaction(async (tx) => {
      const deployment = await lockFor(tx, id, "queue", check);
      const [row] = await tx.update(deployments).set({ state: "queued", startedBy: actor.id, updatedAt: new Date() }).where(eq(deployments.id, id)).returning();
      await appendAuditEvent(tx, actor, { action: "deployment.queued", subjectType: "deployment", subjectId: id, details: { number: deployment.number, planHash: deployment.planHash, planRevision: deployment.planRevision, startedBy: actor.email } });
      return row!;
    });
  } catch (e) {
    if (sqlState(e) === "23505") throw new AppError("conflict", `Another deployment is already queued or running on ${environmentLabel}; wait for it to finish.`);
    throw e;
  }
}

export interface ClaimedRun {
  deployment: Deployment;
  run: Run;
  environmentId: string;
  author: { email: string; name: string };
  /** Who started the apply or rollback; the author when it was never recorded. */
  starter: { email: string; name: string };
}

/** A worker takes a queued deployment: exactly one claim succeeds, and it opens the run. */
export async function claimRun(store: Store, id: string, worker: string): Promise<ClaimedRun | null> {
  return store.db.transaction(async (tx) => {
    const [d] = await tx.select().from(deployments).where(eq(deployments.id, id)).for("update");
    if (!d || !(TRANSITIONS.claim as readonly string[]).includes(d.state)) return null;
    await tx.update(deployments).set({ state: "running", updatedAt: new Date() }).where(eq(deployments.id, id));
    const [run] = await tx.insert(runs).values({ deploymentId: id, state: "running", worker, startedBy: d.startedBy ?? d.createdBy }).returning();
    const person = async (userId: string) => (await tx.select({ email: users.email, name: users.name }).from(users).where(eq(users.id, userId)))[0]!;
    const author = await person(d.createdBy);
    const starter = d.startedBy ? await person(d.startedBy) : author;
    await appendAuditEvent(tx, WORKER_ACTOR, { action: "deployment.started", subjectType: "deployment", subjectId: id, details: { number: d.number, runId: run!.id, worker, startedBy: starter.email } });
    return { deployment: d, run: run!, environmentId: d.environmentId, author, starter };
  });
}

/** Run events that are also audit events (on the environment, so its evidence bundle carries them). */
const BACKUP_AUDIT_ACTIONS: Partial<Record<string, string>> = {
  backup_taken: "backup.taken",
  backup_verified: "backup.verified",
  backup_declined: "backup.declined",
  backup_discarded: "backup.discarded",
  backup_restored: "backup.restored",
  backup_not_restored: "backup.not_restored",
};

/** One line of a run's live log; a backup event commits with its audit event. */
export async function recordRunEvent(
  store: Store,
  runId: string,
  event: { type: string; at: Date; payload: Record<string, unknown> },
  context?: { environment: string; deployment: number },
): Promise<void> {
  const audit = BACKUP_AUDIT_ACTIONS[event.type];
  if (!audit || !context) {
    await store.db.insert(runEvents).values({ runId, at: event.at, type: event.type, payload: event.payload });
    return;
  }
  // Each backup, check, decline and restore is evidence: the run log line and its audit event commit together.
  await store.db.transaction(async (tx) => {
    await tx.insert(runEvents).values({ runId, at: event.at, type: event.type, payload: event.payload });
    await appendAuditEvent(tx, WORKER_ACTOR, { action: audit, subjectType: "environment", subjectId: context.environment, details: { deployment: context.deployment, runId, ...event.payload } });
  });
}

/** The target's schema right before the run, kept for download and comparison. */
export async function recordSchemaBefore(store: Store, id: string, schemaBefore: NonNullable<Deployment["schemaBefore"]>): Promise<void> {
  await store.db.update(deployments).set({ schemaBefore }).where(eq(deployments.id, id));
}

export async function succeedRun(store: Store, claimed: Pick<ClaimedRun, "deployment" | "run" | "starter">): Promise<void> {
  const { deployment, run } = claimed;
  await store.db.transaction(async (tx) => {
    await lockFor(tx, deployment.id, "finish");
    await tx.update(deployments).set({ state: "succeeded", updatedAt: new Date() }).where(eq(deployments.id, deployment.id));
    await tx.update(runs).set({ state: "succeeded", finishedAt: new Date() }).where(eq(runs.id, run.id));
    await appendAuditEvent(tx, WORKER_ACTOR, {
      action: deployment.kind === "rollback" ? "deployment.rolled_back" : "deployment.applied",
      subjectType: "deployment",
      subjectId: deployment.id,
      details: { number: deployment.number, runId: run.id, planHash: deployment.planHash, migrations: deployment.plan.migrations.map((m) => m.tag), startedBy: claimed.starter.email },
    });
    await notifyRunFinished(tx, deployment, "succeeded");
  });
}

/**
 * Fails a run and its deployment. `onlyIfRunning`: the reaper's case, where another worker may
 * have finished it meanwhile; then nothing changes and false is returned.
 */
export async function failRun(store: Store, deploymentId: string, runId: string, error: Record<string, unknown>, options: { logEvent?: boolean; onlyIfRunning?: boolean } = {}): Promise<boolean> {
  return store.db.transaction(async (tx) => {
    const [current] = await tx.select().from(deployments).where(eq(deployments.id, deploymentId)).for("update");
    if (!current || current.state !== "running") {
      if (options.onlyIfRunning) return false;
      throw new AppError("conflict", `Deployment ${deploymentId} is ${current?.state ?? "gone"}: it cannot fail now.`);
    }
    await tx.update(deployments).set({ state: "failed", updatedAt: new Date() }).where(eq(deployments.id, deploymentId));
    await tx.update(runs).set({ state: "failed", finishedAt: new Date(), error }).where(eq(runs.id, runId));
    if (options.logEvent) await tx.insert(runEvents).values({ runId, at: new Date(), type: "run_failed", payload: { runId, error } });
    await appendAuditEvent(tx, WORKER_ACTOR, { action: "deployment.failed", subjectType: "deployment", subjectId: deploymentId, details: { number: current.number, runId, error } });
    await notifyRunFinished(tx, current, "failed", typeof error.message === "string" ? error.message : undefined);
    return true;
  });
}

/** Runs of deployments in the running state, for the reaper. */
export async function runningRuns(db: StoreExecutor) {
  return db
    .select({ deployment: deployments, run: runs })
    .from(deployments)
    .innerJoin(runs, eq(runs.deploymentId, deployments.id))
    .where(and(eq(deployments.state, "running"), eq(runs.state, "running")));
}

/**
 * Verification's outcome for the deployment it followed, written inside verification's own
 * transaction (with its snapshot and audit event).
 */
export async function recordVerification(tx: StoreTx, deploymentId: string, result: { outcome: "passed" | "failed" | "error"; failed: number; errored: number; passed: number }): Promise<void> {
  await tx.update(deployments).set({ verification: result.outcome === "passed" ? "passed" : "failed", updatedAt: new Date() }).where(eq(deployments.id, deploymentId));
  const [run] = await tx.select({ id: runs.id }).from(runs).where(eq(runs.deploymentId, deploymentId)).orderBy(desc(runs.startedAt)).limit(1);
  if (run) await tx.insert(runEvents).values({ runId: run.id, at: new Date(), type: "verification_finished", payload: { ...result } });
}

// ---- Backfill deployments (lib/backfills, lib/jobs/run-backfill) ------------------------------
// A backfill keeps one run across pauses and worker restarts; its progress lives in
// backfill_progress, written by its runner. These are its transitions of deployment and run state.

export type BackfillEnd = "succeeded" | "failed" | "cancelled";

const END_AUDIT: Record<BackfillEnd, string> = { succeeded: "deployment.backfilled", failed: "deployment.failed", cancelled: "deployment.cancelled" };

/** The deployment's current run (a backfill keeps one run across pauses and worker restarts). */
export async function currentBackfillRun(db: StoreExecutor, deploymentId: string) {
  const [run] = await db.select().from(runs).where(eq(runs.deploymentId, deploymentId)).orderBy(desc(runs.startedAt)).limit(1);
  return run ?? null;
}

/** One line of a backfill run's log. */
export async function recordBackfillEvent(db: StoreExecutor, runId: string, type: string, payload: Record<string, unknown>): Promise<void> {
  await db.insert(runEvents).values({ runId, at: new Date(), type, payload });
}

/** Ends the backfill: progress, deployment and run in their final state, with the audit event. */
export async function endBackfill(
  tx: StoreTx,
  actor: AuditActor,
  input: { deploymentId: string; number: number; runId: string | null; end: BackfillEnd; error?: { code: string; message: string }; details?: Record<string, unknown> },
): Promise<void> {
  const now = new Date();
  const [progress] = await tx
    .update(backfillProgress)
    .set({ status: input.end, finishedAt: now, updatedAt: now })
    .where(eq(backfillProgress.deploymentId, input.deploymentId))
    .returning();
  await tx.update(deployments).set({ state: input.end, updatedAt: now }).where(eq(deployments.id, input.deploymentId));
  if (input.runId) {
    await tx.update(runs).set({ state: input.end, finishedAt: now, error: input.error ?? null }).where(eq(runs.id, input.runId));
    await tx.insert(runEvents).values({
      runId: input.runId,
      at: now,
      type: input.end === "failed" ? "run_failed" : `backfill_${input.end}`,
      payload: { runId: input.runId, ...(input.error ? { error: input.error } : {}), rowsDone: progress?.rowsDone ?? 0, batches: progress?.batches ?? 0 },
    });
  }
  await appendAuditEvent(tx, actor, {
    action: END_AUDIT[input.end],
    subjectType: "deployment",
    subjectId: input.deploymentId,
    details: { number: input.number, runId: input.runId, kind: "backfill", rowsDone: progress?.rowsDone ?? 0, batches: progress?.batches ?? 0, ...(input.error ? { error: input.error } : {}), ...input.details },
  });
}

/** The runner saw a pause request: it stops here. False when the request was withdrawn meanwhile. */
export async function takePause(tx: StoreTx, deploymentId: string, runId: string): Promise<boolean> {
  const now = new Date();
  const taken = await tx
    .update(backfillProgress)
    .set({ status: "paused", updatedAt: now })
    .where(and(eq(backfillProgress.deploymentId, deploymentId), eq(backfillProgress.control, "pause")))
    .returning();
  if (taken.length === 0) return false;
  await tx.insert(runEvents).values({ runId, at: now, type: "backfill_paused", payload: { runId, reason: taken[0]!.lastPauseReason, rowsDone: taken[0]!.rowsDone } });
  return true;
}

export async function lockProgress(tx: StoreTx, deploymentId: string): Promise<BackfillProgress | null> {
  const [row] = await tx.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, deploymentId)).for("update");
  return row ?? null;
}
