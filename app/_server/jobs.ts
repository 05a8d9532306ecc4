/**
 * The Next.js server's job queue: the boot's pg-boss client (or, when actions run without a boot,
 * one started on first use), and the in-process worker unless CONSOLE_WORKER=off.
 */
import "server-only";
import type PgBoss from "pg-boss";
import { enqueueWith, startBoss, startDeploymentWorker } from "../../lib/jobs/queue";
import { startBackupRetention } from "../../lib/jobs/backup-retention";
import { startNotificationWorker } from "../../lib/jobs/notifications";
import { startVerificationSchedule } from "../../lib/jobs/verification";
import { verifyAfterApply } from "../../lib/verify/snapshots";
import { deploymentDeps, openedRuntime, runtime } from "./runtime";

export function jobQueue(): Promise<PgBoss> {
  const rt = runtime();
  rt.boss ??= startBoss(rt.config.storeUrl);
  return rt.boss;
}

export async function enqueueDeployment(deploymentId: string): Promise<void> {
  await enqueueWith(await jobQueue())(deploymentId);
}

export async function startInProcessWorker(): Promise<void> {
  if (process.env.CONSOLE_WORKER === "off") return;
  const deps = deploymentDeps();
  const boss = await jobQueue();
  await startDeploymentWorker(boss, deps, verifyAfterApply(deps));
  await startVerificationSchedule(boss, deps);
  await startBackupRetention(boss, deps);
  await startNotificationWorker(boss, deps);
}

export async function stopJobQueue(): Promise<void> {
  const rt = openedRuntime();
  const boss = rt?.boss;
  if (rt) rt.boss = null;
  if (boss) await (await boss).stop({ graceful: false, wait: true });
}
