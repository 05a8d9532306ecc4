/**
 * The Next.js server's job queue: one pg-boss client per process (kept on globalThis, which every
 * server bundle shares), and the in-process worker unless CONSOLE_WORKER=off.
 */
import "server-only";
import type PgBoss from "pg-boss";
import { enqueueWith, startBoss, startDeploymentWorker } from "../jobs/queue";
import { startNotificationWorker } from "../jobs/notifications";
import { startVerificationSchedule } from "../jobs/verification";
import { verifyAfterApply } from "../verify/snapshots";
import { deploymentDeps, runtime } from "./runtime";

const cache = globalThis as unknown as { __migrationConsoleBoss?: Promise<PgBoss> };

export function jobQueue(): Promise<PgBoss> {
  cache.__migrationConsoleBoss ??= startBoss(runtime().config.storeUrl);
  return cache.__migrationConsoleBoss;
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
  await startNotificationWorker(boss, deps);
}

export async function stopJobQueue(): Promise<void> {
  const boss = cache.__migrationConsoleBoss;
  cache.__migrationConsoleBoss = undefined;
  if (boss) await (await boss).stop({ graceful: false, wait: true });
}
