/**
 * `npm run worker`: a deployment worker in a process of its own, to scale out or to keep runs off
 * the web server. Any number of workers and console instances can share one store: a deployment
 * is claimed by exactly one of them.
 */
import path from "node:path";
import { openConsoleProcess } from "../lib/boot/process";
import { ConfigError } from "../lib/config/env";
import { startDeploymentWorker } from "../lib/jobs/queue";
import { startVerificationSchedule } from "../lib/jobs/verification";
import { startNotificationWorker } from "../lib/jobs/notifications";
import { verifyAfterApply } from "../lib/verify/snapshots";

const root = path.resolve(__dirname, "..");
const log = (line: string) => console.log(`[worker] ${line}`);

async function main() {
  const opened = await openConsoleProcess({ root, env: process.env, face: "worker", log });
  const boss = opened.boss!;
  const worker = await startDeploymentWorker(boss, opened.deps, verifyAfterApply(opened.deps));
  const schedule = await startVerificationSchedule(boss, opened.deps);
  const notifier = await startNotificationWorker(boss, opened.deps);
  log(`Waiting for deployments (pid ${process.pid}). Ctrl-C to stop.`);

  const stop = async () => {
    log("Stopping: finishing the current run first");
    await worker.stop();
    await schedule.stop();
    await notifier.stop();
    await boss.stop({ graceful: true, wait: true });
    await opened.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? e.message : `[worker] Start-up failed: ${(e as Error).message}`);
  process.exit(1);
});
