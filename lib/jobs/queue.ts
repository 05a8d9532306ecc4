/**
 * pg-boss wiring: deployments run as jobs in a worker (inside the Next.js server by default, or
 * `npm run worker` to scale out). The queued state in the store is the source of truth; jobs are
 * how a worker learns of it.
 */
import { hostname } from "node:os";
import PgBoss from "pg-boss";
import { eq } from "drizzle-orm";
import type { DeploymentDeps } from "../deployments/context";
import { deployments } from "../store/schema";
import { resumeOrphanedBackfills } from "./run-backfill";
import { reapAbandonedRuns, runDeployment, type AfterApply } from "./run-deployment";

const BACKFILL_HOUSEKEEPING_MS = 5_000;

export const DEPLOYMENT_QUEUE = "deployment-apply";

export async function startBoss(storeUrl: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: storeUrl, schema: "pgboss", max: 4, application_name: "migration-console jobs" });
  boss.on("error", (e) => console.error(`[migration-console] job queue error: ${e.message}`));
  await boss.start();
  await boss.createQueue(DEPLOYMENT_QUEUE);
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
  await boss.work<{ deploymentId: string }>(DEPLOYMENT_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
    if (job) await runDeployment(deps, job.data.deploymentId, worker, afterApply);
  });
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
    stop: async () => {
      clearInterval(timer);
      clearInterval(backfills);
      await boss.offWork(DEPLOYMENT_QUEUE);
    },
  };
}
