/**
 * `npm start` (production build) and `npm run dev` (hot reload). With no CONSOLE_DATABASE_URL it
 * runs the demo: an embedded PostgreSQL in .data/ holding the console store and three demo
 * targets, with one demo user per role. Ctrl-C / SIGTERM stop the console and the database
 * cleanly; after a SIGKILL the next start stops or reuses what was left running.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { DEMO_PASSWORD, DEMO_USERS } from "../lib/auth/demo-users";
import { ROLE_LABELS } from "../lib/auth/roles";
import { ConfigError, loadConfig } from "../lib/config/env";
import { assertShadowIsolated } from "../lib/plan/isolation";
import { consoleEnvironment, type ConsoleEnvironment } from "../lib/embedded/console-env";
import { demoSettings } from "../lib/embedded/demo-cluster";
import { buildIsStale, nextBin, root, runNextBuild } from "./next-build";

const mode = process.argv.includes("dev") ? "dev" : "start";
/** --fresh: throw away the demo's databases and start from a new demo. */
const fresh = process.argv.includes("--fresh");
const port = Number(process.env.PORT ?? 3000);
const { dataDir } = demoSettings(process.env, root);
const pidFile = path.join(dataDir, `console-${port}.pid`);
const log = (line: string) => console.log(`[console] ${line}`);

/** This process's lease on the demo cluster, shared with CLI commands and workers. */
let prepared: ConsoleEnvironment | null = null;
let server: ChildProcess | null = null;
let stopping = false;

async function main() {
  prepared = await consoleEnvironment(process.env, root, { log, fresh, kind: "console" });
  for (const key of Object.keys(process.env)) if (process.env[key] === "") delete process.env[key];
  Object.assign(process.env, prepared.env);
  // The server's own boot (lib/boot, from instrumentation.ts) migrates the store and syncs the registry.
  process.env.NEXTAUTH_URL ??= `http://localhost:${port}`;
  // Parsed here too so a configuration mistake is reported before anything is built or started.
  const config = loadConfig(process.env, root);
  await assertShadowIsolated(config.shadowDatabaseUrl, config.registry.environments);

  stopLeftoverServer();
  if (mode === "start" && buildIsStale()) {
    log("Building the console (next build)…");
    if ((await runNextBuild(process.env, "inherit")) !== 0) throw new Error("next build failed (see above)");
  }

  // Loopback by default: colleagues reach the console only when CONSOLE_BIND_ADDRESS says so (e.g. 0.0.0.0).
  const bindAddress = process.env.CONSOLE_BIND_ADDRESS || "127.0.0.1";
  server = spawn(process.execPath, [nextBin(), mode, "--port", String(port), "--hostname", bindAddress], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: process.env,
  });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(pidFile, String(server.pid));
  server.on("exit", (code) => {
    if (!stopping) {
      log(`The Next.js server exited (code ${code}).`);
      void shutdown(code ?? 1);
    }
  });

  await waitForHealth(`http://localhost:${port}/api/health`, 120_000);
  log(`Ready: http://localhost:${port}`);
  if (config.demo) {
    log(`Demo sign-ins (password "${DEMO_PASSWORD}"):`);
    for (const u of DEMO_USERS) log(`  ${u.email.padEnd(24)} ${ROLE_LABELS[u.role]}`);
  }
}

/** A console server left by a SIGKILLed start still holds the port: stop it. */
function stopLeftoverServer() {
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, "utf8"));
  let cmdline = "";
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    // Not running any more.
  }
  if (cmdline.includes("next")) {
    log(`Stopping the console server left running by an earlier start (pid ${pid})`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    // Give the kernel a moment to release the port.
    spawnSync("sleep", ["0.5"]);
  }
  fs.rmSync(pidFile, { force: true });
}

async function waitForHealth(url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`The console did not answer at ${url} within ${timeoutMs / 1000} s`);
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once("exit", r));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (server.exitCode === null) server.kill("SIGKILL");
  }
  fs.rmSync(pidFile, { force: true });
  if (prepared?.cluster) {
    const stopped = await prepared.release();
    log(stopped ? "Stopped the embedded PostgreSQL" : "Left the embedded PostgreSQL running for the CLI commands or workers still using it (the last one stops it)");
  }
  process.exit(code);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

main().catch(async (e) => {
  console.error(e instanceof ConfigError ? e.message : `[console] Start-up failed: ${(e as Error).message}`);
  await shutdown(1);
});
