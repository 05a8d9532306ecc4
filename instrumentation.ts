/** Runs once when a Next.js server starts: the store is brought up to date, then the worker starts. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { loadConfig } = await import("./lib/config/env");
  const { prepareStore } = await import("./lib/store/prepare");
  await prepareStore(loadConfig(process.env));
  const { startInProcessWorker } = await import("./lib/server/jobs");
  await startInProcessWorker();
}
