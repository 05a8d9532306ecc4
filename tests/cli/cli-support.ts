/** Runs the CLI binary as a user would: a child process, its exit code, stdout and stderr. */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

export const root = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json: <T = Record<string, unknown>>() => T;
}

/**
 * `env` is added to the test's environment; a value of null removes the variable. The child is
 * killed after `timeoutMs`, below the calling test's own timeout, so a hang fails on an assertion.
 */
/** One CLI run is killed after this; a test's timeout is the number of its runs times this. */
export const CLI_RUN_MS = 45_000;

export async function cli(args: string[], env: Record<string, string | null> = {}, timeoutMs = CLI_RUN_MS): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === null) delete childEnv[k];
    else childEnv[k] = v;
  }
  const outcome = await run(process.execPath, [path.join(root, "cli/bin.cjs"), ...args], { cwd: root, env: childEnv, timeout: timeoutMs }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number | null; signal?: string; stdout: string; stderr: string }) => ({ code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr + (e.signal ? `\n(killed: ${e.signal})` : "") }),
  );
  return {
    ...outcome,
    json: <T>() => {
      try {
        return JSON.parse(outcome.stdout) as T;
      } catch {
        throw new Error(`not JSON (exit ${outcome.code}): ${outcome.stdout}\n${outcome.stderr}`);
      }
    },
  };
}
