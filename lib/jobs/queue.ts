/**
 * pg-boss wiring: deployments run as jobs in a worker (inside the Next.js server by default, or
 * `npm run worker` to scale out). The queued state in the store is the source of truth; jobs are
 * how a worker learns of it.
 */
import { hostname } from "node:os";
import type PgBoss from "pg-boss";
import { eq } from "drizzle-orm";
import type { DeploymentDeps } from "../deployments/context";
import { deployments } from "../store/schema";
import { resumeOrphanedBackfills, runBackfill } from "./run-backfill";
import { reapAbandonedRuns, runDeployment, type AfterApply } from "./run-deployment";

const BACKFILL_HOUSEKEEPING_MS = 5_000;
/** pg-boss marks a job failed after this; the runner itself goes on (its lock, not the job, says it runs). */
const BACKFILL_JOB_EXPIRY_S = 23 * 3600;

export const DEPLOYMENT_QUEUE = "deployment-apply";
/** Backfills run long: on a queue of their own, so migrations are never stuck behind one. */
export const BACKFILL_QUEUE = "deployment-backfill";
/** Backfills one worker process runs at the same time. */
const BACKFILL_SLOTS = 2;

export async function startBoss(storeUrl: string): Promise<PgBoss> {
  // pg-boss hands its options to pg's Pool, which bounds each connection attempt with connectionTimeoutMillis
  // (the store's own client is bounded in lib/targets/connect).
  // Loaded on use: a large module that a CLI command which never queues a job should not pay for.
  const { default: PgBoss } = await import("pg-boss");
  const boss = new PgBoss({ connectionString: storeUrl, schema: "pgboss", max: 4, application_name: "migration-console jobs", ...({ connectionTimeoutMillis: 10_000 } as object) });
  boss.on("error", (e) => console.error(`[migration-console] job queue error: ${e.message}`));
  await boss.start();
  await boss.createQueue(DEPLOYMENT_QUEUE);
  await boss.createQueue(BACKFILL_QUEUE);
  return boss;
}

export function enqueueWith(boss: PgBoss): DeploymentDeps["enqueue"] {
  return async (deploymentId) => {
    // singletonKey: a deployment is in the queue at most once, however often it is re-sent.
    await boss.send(DEPLOYMENT_QUEUE, { deploymentId }, { singletonKey: deploymentId, retryLimit: 0 });
  };
}

export interface WorkerHandle {
  stop(): Promise<void>;
}

/**
 * Runs deployments from the queue. Every 30 s it also fails runs whose worker died (see
 * reapAbandonedRuns) and re-sends jobs for queued deployments that have none (lost sends).
 */
export async function startDeploymentWorker(boss: PgBoss, deps: DeploymentDeps, afterApply?: AfterApply): Promise<WorkerHandle> {
  const worker = `${hostname()}:${process.pid}`;
  // No singleton: a duplicate finds the runner's lock taken and leaves (lib/jobs/run-backfill).
  const handOff = async (deploymentId: string) => void (await boss.send(BACKFILL_QUEUE, { deploymentId }, { retryLimit: 0, expireInSeconds: BACKFILL_JOB_EXPIRY_S }));
  const inFlight = new Set<Promise<void>>();
  await boss.work<{ deploymentId: string }>(DEPLOYMENT_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
    if (!job) return;
    const run = runDeployment(deps, job.data.deploymentId, worker, afterApply, handOff);
    inFlight.add(run);
    try {
      await run;
    } finally {
      inFlight.delete(run);
    }
  });
  for (let slot = 0; slot < BACKFILL_SLOTS; slot++) {
    await boss.work<{ deploymentId: string }>(BACKFILL_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
      if (job) await runBackfill(deps, job.data.deploymentId, worker, { afterApply });
    });
  }
  const housekeeping = async () => {
    await reapAbandonedRuns(deps);
    await resumeOrphanedBackfills(deps);
    const queued = await deps.store.db.select({ id: deployments.id }).from(deployments).where(eq(deployments.state, "queued"));
    for (const q of queued) await deps.enqueue(q.id);
  };
  await housekeeping();
  const timer = setInterval(() => void housekeeping().catch(() => {}), 30_000);
  // Backfills left by a dead worker (or a lost resume) are picked up within seconds, not minutes.
  const backfills = setInterval(() => void resumeOrphanedBackfills(deps).catch(() => {}), BACKFILL_HOUSEKEEPING_MS);
  return {
    /** Takes no new run, and waits for the one in flight (its apply and verification) to finish. */
    stop: async () => {
      clearInterval(timer);
      clearInterval(backfills);
      await boss.offWork(DEPLOYMENT_QUEUE);
      await boss.offWork(BACKFILL_QUEUE);
      await Promise.allSettled([...inFlight]);
    },
  };
}
