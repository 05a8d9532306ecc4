/**
 * The worker's side of a backfill deployment: a pg-boss job (the deployment queue's) that runs the
 * batch runner against the target and keeps its progress in the store. One runner per deployment:
 * it holds a session advisory lock on the store for as long as it runs, which PostgreSQL frees when
 * the worker dies; housekeeping finds an active backfill nobody holds and sends it to a worker again,
 * which resumes from the stored cursor.
 */
import { and, eq, sql as drizzleSql, type Column } from "drizzle-orm";
import type postgres from "postgres";
import { redactSecrets } from "../connection/connect";
import { backfillDefinition } from "../deployments/backfill-plan";
import { currentBackfillRun as currentRun, endBackfill, lockProgress, recordBackfillEvent as recordRunEvent, takePause, WORKER_ACTOR } from "../deployments/lifecycle";
import { DEFAULT_PRESSURE_LIMITS, type PressureLimits } from "../backfills/pressure";
import { runBatches } from "../backfills/runner";
import { remainingStatement } from "../backfills/sql";
import { connectTarget, inspectTarget } from "../backfills/target";
import { targetUrl, type DeploymentDeps } from "../deployments/context";
import { assertPlanCurrent } from "../deployments/service";
import { AppError } from "../errors";
import { backfillProgress, deployments, environments } from "../store/schema";
import { afterRun, type AfterApply } from "./after-run";

/** First key of the store advisory locks held by backfill runners (the second is the deployment's hash). */
const RUNNER_LOCK_CLASS = 7_361_213;
/** Walks over the whole key range, to catch rows that started to need the backfill behind the cursor. */
const MAX_PASSES = 3;

export interface BackfillRunOptions {
  limits?: Partial<PressureLimits>;
  afterApply?: AfterApply;
  /** How long to wait for another runner of the same deployment to let go (it may be finishing a pause). */
  lockWaitMs?: number;
  /** Called after a batch committed on the target and before its cursor is stored: the crash window tests aim at. */
  onBatchCommitted?: (batches: number) => void;
}

/** Runs (or resumes) a backfill deployment in state running. Returns when it ended, paused, or another worker has it. */
export async function runBackfill(deps: DeploymentDeps, deploymentId: string, worker: string, options: BackfillRunOptions = {}): Promise<void> {
  const conn = await deps.store.sql.reserve();
  try {
    if (!(await acquire(conn, deploymentId, options.lockWaitMs ?? 5_000))) return;
    try {
      await drive(deps, deploymentId, worker, options);
    } finally {
      await conn`select pg_advisory_unlock(${RUNNER_LOCK_CLASS}, hashtext(${deploymentId}))`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

async function acquire(conn: postgres.ReservedSql, id: string, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [r] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(${RUNNER_LOCK_CLASS}, hashtext(${id})) as ok`;
    if (r!.ok) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function drive(deps: DeploymentDeps, deploymentId: string, worker: string, options: BackfillRunOptions): Promise<void> {
  const db = deps.store.db;
  const [row] = await db
    .select({ deployment: deployments, environment: environments.name })
    .from(deployments)
    .innerJoin(environments, eq(environments.id, deployments.environmentId))
    .where(eq(deployments.id, deploymentId));
  if (!row || row.deployment.kind !== "backfill" || row.deployment.state !== "running") return;
  const { deployment, environment } = row;
  const run = await currentRun(db, deploymentId);
  const runId = run?.id ?? null;
  const fail = async (e: unknown) => {
    const error = e instanceof AppError ? { code: e.code, message: e.message } : { code: "internal", message: redactSecrets((e as Error).message ?? String(e)) };
    await db.transaction(async (tx) => {
      const [current] = await tx.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, deploymentId)).for("update");
      if (current?.state !== "running") return;
      if (!(await lockProgress(tx, deploymentId))) await tx.insert(backfillProgress).values({ deploymentId, status: "failed", rowsTotal: 0, batchSize: 0 });
      await endBackfill(tx, WORKER_ACTOR, { deploymentId, number: deployment.number, runId, end: "failed", error });
    });
  };

  let sql: postgres.Sql | null = null;
  try {
    const env = deps.registry.byName(environment);
    if (!env) throw new AppError("conflict", `The environment ${environment} is no longer in the registry.`);
    const definition = await backfillDefinition(deps, deployment.backfillName!);
    sql = connectTarget(targetUrl(env), definition.name);
    const facts = await inspectTarget(sql, definition);
    const tuning = definition.batch;
    const limits = { ...DEFAULT_PRESSURE_LIMITS, ...deps.backfillLimits, ...options.limits };
    let committed = 0;

    let progress = (await db.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, deploymentId)))[0] ?? null;
    if (!progress) {
      // First start: the approved plan must still describe the file and the target.
      await assertPlanCurrent(deps, deployment, environment);
      const total = await remaining(sql, definition);
      const inserted = await db
        .insert(backfillProgress)
        .values({ deploymentId, status: "running", rowsTotal: total, batchSize: tuning.initialSize, startedAt: new Date() })
        .onConflictDoNothing()
        .returning();
      progress = inserted[0] ?? null;
      if (!progress) return;
      if (runId) await recordRunEvent(db, runId, "backfill_started", { runId, backfill: definition.name, rowsTotal: total, batchSize: tuning.initialSize, targetBatchMs: tuning.targetMs, worker });
    } else {
      if (progress.status === "succeeded" || progress.status === "failed" || progress.status === "cancelled") return;
      if (definition.checksum !== deployment.plan.backfill?.checksum) {
        throw new AppError("conflict", `${definition.file} changed since the backfill was approved, so this run cannot go on: it ends here, failed, and the rows it changed stay changed. Open a new backfill deployment for the file as it is now (its plan needs approval again).`);
      }
      if (progress.control === "pause" && progress.status === "paused") return;
      if (progress.control === "run") {
        // A batch committed by a runner that died before storing it is counted from the target.
        const rowsDone = Math.max(progress.rowsDone, progress.rowsTotal - (await remaining(sql, definition)));
        await db.update(backfillProgress).set({ status: "running", rowsDone, updatedAt: new Date() }).where(eq(backfillProgress.deploymentId, deploymentId));
        if (runId) await recordRunEvent(db, runId, "backfill_resumed_by_worker", { runId, worker, cursor: progress.cursor, rowsDone: progress.rowsDone });
      }
    }

    let cursor = progress.cursor;
    let batchSize = progress.batchSize;
    let rate = progress.rowsPerSecond;
    for (let pass = 1; ; ) {
      const outcome = await runBatches({
        sql,
        definition,
        keyType: facts.keyType,
        tuning,
        limits,
        start: { cursor, batchSize, rowsPerSecond: rate },
        hooks: {
          control: async () => (await db.select({ control: backfillProgress.control }).from(backfillProgress).where(eq(backfillProgress.deploymentId, deploymentId)))[0]?.control ?? "cancel",
          saveBatch: async (b) => {
            options.onBatchCommitted?.(++committed);
            cursor = b.cursor;
            batchSize = b.nextSize;
            rate = b.rowsPerSecond;
            const [saved] = await db
              .update(backfillProgress)
              .set({
                cursor: b.cursor,
                rowsDone: sqlAdd(backfillProgress.rowsDone, b.changed),
                // Rows that began to need it ahead of the cursor are done beyond the count taken at the start.
                rowsTotal: drizzleSql`greatest(${backfillProgress.rowsTotal}, ${backfillProgress.rowsDone} + ${b.changed})`,
                batches: sqlAdd(backfillProgress.batches, 1),
                batchSize: b.nextSize,
                lastBatchMs: b.ms,
                rowsPerSecond: b.rowsPerSecond,
                activeMs: sqlAdd(backfillProgress.activeMs, b.ms),
                updatedAt: new Date(),
              })
              .where(eq(backfillProgress.deploymentId, deploymentId))
              .returning({ id: backfillProgress.deploymentId });
            if (!saved) throw new AppError("conflict", "The backfill's progress disappeared from the store.");
          },
          pressure: async (p) => {
            const now = new Date();
            await db
              .update(backfillProgress)
              .set(p ? { status: "throttled", lastPauseReason: p.reason, lastPauseKind: "pressure", lastPauseAt: now, updatedAt: now } : { status: "running", lastResumeAt: now, updatedAt: now })
              .where(eq(backfillProgress.deploymentId, deploymentId));
            if (runId) await recordRunEvent(db, runId, p ? "backfill_throttled" : "backfill_unthrottled", p ? { runId, kind: p.kind, reason: p.reason } : { runId });
          },
          retry: async (r) => {
            if (runId) await recordRunEvent(db, runId, "backfill_batch_retry", { runId, ...r });
          },
          // Taken below like an operator's pause; a pause or cancel already asked for stands.
          stalled: async (reason) => {
            const now = new Date();
            await db
              .update(backfillProgress)
              .set({ control: "pause", lastPauseReason: reason, lastPauseKind: "pressure", lastPauseAt: now, updatedAt: now })
              .where(and(eq(backfillProgress.deploymentId, deploymentId), eq(backfillProgress.control, "run")));
          },
        },
      });

      if (outcome === "paused") {
        const stopped = await db.transaction((tx) => takePause(tx, deploymentId, runId ?? ""));
        if (stopped) return;
        continue; // the pause was withdrawn before the runner took it
      }
      if (outcome === "cancelled") {
        await db.transaction(async (tx) => {
          await lockProgress(tx, deploymentId);
          await endBackfill(tx, WORKER_ACTOR, { deploymentId, number: deployment.number, runId, end: "cancelled", details: { cursor } });
        });
        return;
      }
      const left = await remaining(sql, definition);
      if (left > 0 && pass < MAX_PASSES) {
        // Rows that began to need it behind the cursor (new keys below it): walk once more from the start.
        pass++;
        cursor = null;
        await db.update(backfillProgress).set({ cursor: null, rowsTotal: sqlAdd(backfillProgress.rowsTotal, left), updatedAt: new Date() }).where(eq(backfillProgress.deploymentId, deploymentId));
        if (runId) await recordRunEvent(db, runId, "backfill_new_pass", { runId, pass, rowsLeft: left });
        continue;
      }
      if (left > 0 && runId) await recordRunEvent(db, runId, "backfill_rows_left", { runId, rowsLeft: left, passes: pass });
      await db.transaction(async (tx) => {
        const current = await lockProgress(tx, deploymentId);
        // Totals end as what was done: rows counted at the start may since have been changed by the application.
        if (current) await tx.update(backfillProgress).set({ rowsTotal: current.rowsDone + left }).where(eq(backfillProgress.deploymentId, deploymentId));
        await endBackfill(tx, WORKER_ACTOR, { deploymentId, number: deployment.number, runId, end: "succeeded", details: { planHash: deployment.planHash, rowsLeft: left } });
      });
      break;
    }
  } catch (e) {
    await fail(e);
    return;
  } finally {
    await sql?.end({ timeout: 5 });
  }
  await afterRun(options.afterApply, deploymentId, environment);
}

async function remaining(sql: postgres.Sql, definition: Parameters<typeof remainingStatement>[0]): Promise<number> {
  const [r] = await sql.unsafe<{ remaining: string }[]>(remainingStatement(definition));
  return Number(r!.remaining);
}

const sqlAdd = (column: Column, n: number) => drizzleSql`${column} + ${n}`;

/**
 * Sends every active backfill that no runner holds to a worker: after a worker died, or when a
 * resume's send was lost. Cheap when there is none.
 */
export async function resumeOrphanedBackfills(deps: DeploymentDeps): Promise<number> {
  const active = await deps.store.db
    .select({ id: deployments.id, status: backfillProgress.status, control: backfillProgress.control })
    .from(deployments)
    .leftJoin(backfillProgress, eq(backfillProgress.deploymentId, deployments.id))
    .where(and(eq(deployments.kind, "backfill"), eq(deployments.state, "running")));
  let sent = 0;
  for (const b of active) {
    if (b.status === "paused" || !(await unheld(deps, b.id))) continue;
    await deps.enqueue(b.id);
    sent++;
  }
  return sent;
}

async function unheld(deps: DeploymentDeps, id: string): Promise<boolean> {
  const [r] = await deps.store.sql<{ free: boolean }[]>`
    select not exists (select 1 from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database()) and classid = ${RUNNER_LOCK_CLASS} and objid = hashtext(${id})::oid and granted) as free`;
  return r!.free;
}
