/**
 * The production build of the console: when it is stale, and how to make it. One rule for
 * `npm start` (builds before serving) and `npm test` (builds while Vitest runs, so the E2E
 * journeys find it ready).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const root = path.resolve(__dirname, "..");

export function nextBin(): string {
  return path.join(root, "node_modules/next/dist/bin/next");
}

/** What the build is made of: a change to any of it makes the build stale. */
const BUILD_SOURCES = ["app", "components", "lib", "db/schema", "proxy.ts", "instrumentation.ts", "next.config.ts", "package-lock.json"];

/** Stale when there is no build or any source is newer than it. */
export function buildIsStale(): boolean {
  const buildId = path.join(root, ".next/BUILD_ID");
  if (!fs.existsSync(buildId)) return true;
  const builtAt = fs.statSync(buildId).mtimeMs;
  const newer = (p: string): boolean => {
    const full = path.join(root, p);
    if (!fs.existsSync(full)) return false;
    const stat = fs.statSync(full);
    if (!stat.isDirectory()) return stat.mtimeMs > builtAt;
    return fs.readdirSync(full).some((child) => newer(path.join(p, child)));
  };
  return BUILD_SOURCES.some(newer);
}

/**
 * Runs a command in the checkout. `output`: "inherit" shows it live; a file path collects it there
 * (for a step that runs beside other output). Resolves with the exit code.
 */
export function runStep(command: string, args: string[], env: NodeJS.ProcessEnv, output: "inherit" | string): Promise<number> {
  const sink = output === "inherit" ? "inherit" : fs.openSync(output, "w");
  const child = spawn(command, args, { cwd: root, stdio: ["ignore", sink, sink], env });
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      if (typeof sink === "number") fs.closeSync(sink);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

export function runNextBuild(env: NodeJS.ProcessEnv, output: "inherit" | string): Promise<number> {
  return runStep(process.execPath, [nextBin(), "build"], env, output);
}
