/** Runs once when a Next.js server starts: the one boot (lib/boot), then the in-process worker. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { bootWebConsole } = await import("./app/_server/runtime");
  await bootWebConsole();
  const { startInProcessWorker } = await import("./app/_server/jobs");
  await startInProcessWorker();
}
