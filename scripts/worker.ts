/**
 * `npm run worker`: a deployment worker in a process of its own, to scale out or to keep runs off
 * the web server. Any number of workers and console instances can share one store: a deployment
 * is claimed by exactly one of them.
 */
import path from "node:path";
import { loadCatalog } from "../lib/catalog";
import { ConfigError, loadConfig } from "../lib/config/env";
import { deploymentDepsFor } from "../lib/deployments/context";
import { consoleEnvironment } from "../lib/embedded/console-env";
import { enqueueWith, startBoss, startDeploymentWorker } from "../lib/jobs/queue";
import { startVerificationSchedule } from "../lib/jobs/verification";
import { assertShadowIsolated } from "../lib/plan/isolation";
import { closeShadowConnections } from "../lib/plan/shadow";
import { openStore } from "../lib/store/db";
import { verifyAfterApply } from "../lib/verify/snapshots";
import { prepareStore } from "../lib/store/prepare";

const root = path.resolve(__dirname, "..");
const log = (line: string) => console.log(`[worker] ${line}`);

async function main() {
  const { env, cluster } = await consoleEnvironment(process.env, root, { log });
  const config = loadConfig(env, root);
  await assertShadowIsolated(config.shadowDatabaseUrl, config.registry.environments);
  await prepareStore(config, path.join(root, "lib/store/migrations"));
  const store = openStore(config.storeUrl, { max: 4 });
  const boss = await startBoss(config.storeUrl);
  const deps = deploymentDepsFor(config, store, () => loadCatalog(path.join(root, "db/migrations")), enqueueWith(boss));
  const worker = await startDeploymentWorker(boss, deps, verifyAfterApply(deps));
  const schedule = await startVerificationSchedule(boss, deps);
  log(`Waiting for deployments (pid ${process.pid}). Ctrl-C to stop.`);

  const stop = async () => {
    log("Stopping: finishing the current run first");
    await worker.stop();
    await schedule.stop();
    await boss.stop({ graceful: true, wait: true });
    await store.close();
    await closeShadowConnections();
    if (cluster) await cluster.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? e.message : `[worker] Start-up failed: ${(e as Error).message}`);
  process.exit(1);
});
