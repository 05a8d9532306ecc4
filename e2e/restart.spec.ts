import { spawn, type ChildProcess } from "node:child_process";
import { expect, test } from "@playwright/test";
import { testPorts } from "../tests/support/ports";

/** A console started next to the suite's own, on its own port and data folder. */
const PORT = testPorts.restartWeb;
const env = { ...process.env, PORT: String(PORT), CONSOLE_DATA_DIR: ".data/e2e-restart", EMBEDDED_PG_PORT: String(testPorts.restartPg), EMBEDDED_SHADOW_PG_PORT: String(testPorts.restartShadowPg), CONSOLE_DATABASE_URL: "" };

function startConsole(): { proc: ChildProcess; output: () => string } {
  let output = "";
  const proc = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  return { proc, output: () => output };
}

async function waitUntilReady(output: () => string) {
  await expect.poll(output, { timeout: 90_000, intervals: [500] }).toContain(`Ready: http://localhost:${PORT}`);
  const res = await fetch(`http://localhost:${PORT}/signin`);
  expect(res.status).toBe(200);
}

test("after a SIGKILL the console starts again and serves sign-in", async () => {
  test.setTimeout(240_000);
  const first = startConsole();
  await waitUntilReady(first.output);

  first.proc.kill("SIGKILL");
  await new Promise((r) => first.proc.once("exit", r));

  const second = startConsole();
  try {
    await waitUntilReady(second.output);
    expect(second.output()).toContain("left running");
  } finally {
    const exited = new Promise((r) => second.proc.once("exit", r));
    second.proc.kill("SIGTERM");
    await exited;
  }
  expect(second.output()).toContain("Stopped the embedded PostgreSQL");
});
