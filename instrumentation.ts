/** Runs once when a Next.js server starts: the store is brought up to date, then the worker starts. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { loadConfig } = await import("./lib/config/env");
  const { prepareStore } = await import("./lib/store/prepare");
  const config = loadConfig(process.env);
  // Refused before anything runs: a rehearsal on a target's cluster could change that target.
  const { assertShadowIsolated } = await import("./lib/plan/isolation");
  await assertShadowIsolated(config.shadowDatabaseUrl, config.registry.environments);
  await prepareStore(config);
  const { startInProcessWorker } = await import("./lib/server/jobs");
  await startInProcessWorker();
}
