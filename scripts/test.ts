/**
 * `npm test`: the type check, Vitest, then the E2E journeys in Chromium. Vitest waits on its
 * PostgreSQL servers as much as it computes, so the type check and the production build the
 * journeys need run beside it (their output is shown only when they fail), and Playwright starts
 * on a ready build. Exit code: the first failing step's.
 */
import fs from "node:fs";
import path from "node:path";
import { buildIsStale, root, runNextBuild, runStep } from "./next-build";

const run = (command: string, args: string[], output: "inherit" | string) => runStep(command, args, process.env, output);

const logDir = path.join(root, ".data/test-logs");
const bin = (name: string) => path.join(root, "node_modules/.bin", name);

function showFailure(step: string, logFile: string, code: number): void {
  console.error(`\n✗ ${step} failed (exit ${code}):\n`);
  console.error(fs.readFileSync(logFile, "utf8"));
}

async function main(): Promise<number> {
  fs.mkdirSync(logDir, { recursive: true });
  const typecheckLog = path.join(logDir, "typecheck.log");
  const buildLog = path.join(logDir, "next-build.log");
  const typecheck = run(bin("tsc"), ["--noEmit"], typecheckLog);
  const build = buildIsStale() ? runNextBuild(process.env, buildLog) : Promise.resolve(-1);
  const vitest = await run(bin("vitest"), ["run"], "inherit");

  // Both are awaited even after a failure: nothing is left running when `npm test` returns.
  const [typecheckCode, buildCode] = await Promise.all([typecheck, build]);
  if (typecheckCode !== 0) {
    showFailure("The type check (tsc --noEmit)", typecheckLog, typecheckCode);
    return typecheckCode;
  }
  console.log("✓ type check (tsc --noEmit)");
  if (vitest !== 0) return vitest;
  if (buildCode > 0) {
    showFailure("The production build (next build)", buildLog, buildCode);
    return buildCode;
  }
  console.log(buildCode === 0 ? `✓ production build (next build), log in ${path.relative(root, buildLog)}` : "✓ production build up to date");
  return run(bin("playwright"), ["test"], "inherit");
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
