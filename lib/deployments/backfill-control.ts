/**
 * What a release manager does to a running backfill (pause, resume, cancel), and what everyone sees
 * of its progress. Each request commits with its audit event; the runner acts on it before its next
 * batch, so a pause never interrupts a batch half-way.
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import { appendAuditEvent } from "../audit/log";
import type { Actor } from "../auth/users";
import type { DeploymentDeps } from "./context";
import { AppError } from "../errors";
import { decideAllBackfill, decideBackfill, type BackfillAction, type BackfillGateContext } from "../gates/backfill";
import type { StoreExecutor, StoreTx } from "../store/db";
import { backfillProgress, deployments, type BackfillProgress, type Deployment } from "../store/schema";
import { currentBackfillRun as currentRun, endBackfill, lockProgress, recordBackfillEvent as recordRunEvent } from "./lifecycle";

export const backfillControlInput = z.object({ id: z.uuid(), reason: z.string().trim().max(500).optional() });
export type BackfillControlInput = z.infer<typeof backfillControlInput>;

async function locked(tx: StoreTx, id: string): Promise<{ deployment: Deployment; progress: BackfillProgress | null }> {
  const [deployment] = await tx.select().from(deployments).where(eq(deployments.id, id)).for("update");
  if (!deployment) throw new AppError("not_found", "That deployment does not exist.");
  return { deployment, progress: await lockProgress(tx, id) };
}

function gateContext(actor: Pick<Actor, "role">, deployment: Deployment, progress: BackfillProgress | null): BackfillGateContext {
  return { actor: { role: actor.role }, deployment: { kind: deployment.kind, state: deployment.state }, progress: progress ? { status: progress.status, control: progress.control } : null };
}

function enforce(action: BackfillAction, ctx: BackfillGateContext): void {
  const decision = decideBackfill(action, ctx);
  if (!decision.allowed) throw new AppError(decision.reason === "Needs a release manager." ? "forbidden" : "conflict", decision.reason!);
}

const said = (reason: string | undefined) => (reason ? `: ${reason}` : "");

export async function pauseBackfill(deps: DeploymentDeps, actor: Actor, input: BackfillControlInput): Promise<BackfillView> {
  await deps.store.db.transaction(async (tx) => {
    const { deployment, progress } = await locked(tx, input.id);
    enforce("pause", gateContext(actor, deployment, progress));
    const now = new Date();
    const reason = `Paused by ${actor.name}${said(input.reason)}`;
    await tx.update(backfillProgress).set({ control: "pause", lastPauseReason: reason, lastPauseKind: "operator", lastPauseAt: now, updatedAt: now }).where(eq(backfillProgress.deploymentId, input.id));
    await appendAuditEvent(tx, actor, { action: "backfill.paused", subjectType: "deployment", subjectId: input.id, details: { number: deployment.number, backfill: deployment.backfillName, rowsDone: progress!.rowsDone, reason: input.reason ?? null } });
  });
  return backfillView(deps.store.db, actor, input.id);
}

export async function resumeBackfill(deps: DeploymentDeps, actor: Actor, input: BackfillControlInput): Promise<BackfillView> {
  const wasPaused = await deps.store.db.transaction(async (tx) => {
    const { deployment, progress } = await locked(tx, input.id);
    enforce("resume", gateContext(actor, deployment, progress));
    const now = new Date();
    const paused = progress!.status === "paused";
    // A pause the runner has not reached yet is simply withdrawn; a taken one needs a worker again.
    await tx
      .update(backfillProgress)
      .set({ control: "run", ...(paused ? { status: "queued" as const } : {}), lastResumeAt: now, updatedAt: now })
      .where(eq(backfillProgress.deploymentId, input.id));
    const run = await currentRun(tx, input.id);
    if (run) await recordRunEvent(tx, run.id, "backfill_resumed", { runId: run.id, by: actor.name, rowsDone: progress!.rowsDone });
    await appendAuditEvent(tx, actor, { action: "backfill.resumed", subjectType: "deployment", subjectId: input.id, details: { number: deployment.number, backfill: deployment.backfillName, rowsDone: progress!.rowsDone, reason: input.reason ?? null } });
    return paused;
  });
  // A lost send is repaired by the worker's housekeeping (a queued backfill nobody runs is re-sent).
  if (wasPaused) await deps.enqueue(input.id).catch(() => {});
  return backfillView(deps.store.db, actor, input.id);
}

export async function cancelBackfill(deps: DeploymentDeps, actor: Actor, input: BackfillControlInput): Promise<BackfillView> {
  await deps.store.db.transaction(async (tx) => {
    const { deployment, progress } = await locked(tx, input.id);
    enforce("cancel", gateContext(actor, deployment, progress));
    const now = new Date();
    await tx.update(backfillProgress).set({ control: "cancel", updatedAt: now }).where(eq(backfillProgress.deploymentId, input.id));
    const details = { number: deployment.number, backfill: deployment.backfillName, rowsDone: progress!.rowsDone, reason: input.reason ?? null };
    if (progress!.status === "paused") {
      // No runner holds it: it ends here. The rows already changed stay changed (each batch committed).
      const run = await currentRun(tx, input.id);
      await endBackfill(tx, actor, { deploymentId: input.id, number: deployment.number, runId: run?.id ?? null, end: "cancelled", details: { by: actor.email, reason: input.reason ?? null } });
    } else {
      await appendAuditEvent(tx, actor, { action: "backfill.cancel_requested", subjectType: "deployment", subjectId: input.id, details });
    }
  });
  return backfillView(deps.store.db, actor, input.id);
}

/** Progress as the page and the CLI show it; rates and ETA derived here, in one place. */
export async function backfillView(db: StoreExecutor, actor: Pick<Actor, "role">, deploymentId: string) {
  const [deployment] = await db.select().from(deployments).where(eq(deployments.id, deploymentId));
  if (!deployment) throw new AppError("not_found", "That deployment does not exist.");
  if (deployment.kind !== "backfill") throw new AppError("invalid_input", `Deployment #${deployment.number} is not a backfill.`);
  const [progress] = await db.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, deploymentId));
  const planned = deployment.plan.backfill;
  const total = progress?.rowsTotal ?? planned?.rows.counted ?? planned?.rows.estimated ?? 0;
  const done = progress?.rowsDone ?? 0;
  const active = progress && ["queued", "running", "throttled"].includes(progress.status);
  const rate = progress?.rowsPerSecond ?? null;
  const left = Math.max(0, total - done);
  return {
    deploymentId,
    number: deployment.number,
    backfill: deployment.backfillName!,
    deploymentState: deployment.state,
    status: progress?.status ?? null,
    control: progress?.control ?? null,
    rowsDone: done,
    rowsTotal: total,
    // A run that ended with rows still needing it (they kept arriving behind the cursor) shows them.
    percent: total > 0 ? Math.min(100, Math.floor((done / total) * 1000) / 10) : progress?.status === "succeeded" ? 100 : 0,
    rowsPerSecond: rate === null ? null : Math.round(rate),
    etaSeconds: active && rate && rate > 0 ? Math.ceil(left / rate) : null,
    batchSize: progress?.batchSize ?? planned?.tuning.initialSize ?? null,
    batches: progress?.batches ?? 0,
    lastBatchMs: progress?.lastBatchMs ?? null,
    targetBatchMs: planned?.tuning.targetMs ?? null,
    lastPause: progress?.lastPauseAt ? { reason: progress.lastPauseReason, kind: progress.lastPauseKind, at: progress.lastPauseAt.toISOString(), resumedAt: progress.lastResumeAt && progress.lastResumeAt >= progress.lastPauseAt ? progress.lastResumeAt.toISOString() : null } : null,
    startedAt: progress?.startedAt?.toISOString() ?? null,
    finishedAt: progress?.finishedAt?.toISOString() ?? null,
    updatedAt: progress?.updatedAt.toISOString() ?? null,
    decisions: decideAllBackfill(gateContext(actor, deployment, progress ?? null)),
  };
}

export type BackfillView = Awaited<ReturnType<typeof backfillView>>;
