/**
 * The state changes of a backfill deployment, each with its audit event in one transaction: the
 * runner's start, pause taken, finish (succeeded, failed, cancelled), and the operator's requests.
 * Kept in one file so they can move into the deployments lifecycle as a unit.
 */
import { and, desc, eq } from "drizzle-orm";
import { appendAuditEvent, type AuditActor } from "../audit/log";
import type { StoreExecutor, StoreTx } from "../store/db";
import { backfillProgress, deployments, runEvents, runs, type BackfillProgress } from "../store/schema";

export const WORKER_ACTOR: AuditActor = { id: null, email: "worker" };

export type BackfillEnd = "succeeded" | "failed" | "cancelled";

const END_AUDIT: Record<BackfillEnd, string> = { succeeded: "deployment.backfilled", failed: "deployment.failed", cancelled: "deployment.cancelled" };

/** The deployment's current run (a backfill keeps one run across pauses and worker restarts). */
export async function currentRun(db: StoreExecutor, deploymentId: string) {
  const [run] = await db.select().from(runs).where(eq(runs.deploymentId, deploymentId)).orderBy(desc(runs.startedAt)).limit(1);
  return run ?? null;
}

export async function recordRunEvent(db: StoreExecutor, runId: string, type: string, payload: Record<string, unknown>): Promise<void> {
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
