/** Runs once when a Next.js server starts: the console brings its own store up to date first. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { loadConfig } = await import("./lib/config/env");
  const { migrateStore } = await import("./lib/store/migrate");
  const { openStore } = await import("./lib/store/db");
  const { syncEnvironments } = await import("./lib/targets/registry-sync");
  const config = loadConfig(process.env);
  await migrateStore(config.storeUrl);
  const store = openStore(config.storeUrl, { max: 1 });
  try {
    await syncEnvironments(store.db, config.registry);
  } finally {
    await store.close();
  }
  const { startInProcessWorker } = await import("./lib/server/jobs");
  await startInProcessWorker();
}
