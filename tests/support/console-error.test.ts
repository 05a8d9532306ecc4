/** The suite's own guard: console.error anywhere in a test file fails it (see tests/setup). */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

describe("console.error in a test file", () => {
  it("fails the test it happened in, the first test after a beforeAll, and the file for afterAll", async () => {
    const vitest = path.join(root, "node_modules/vitest/vitest.mjs");
    const result = await promisify(execFile)(process.execPath, [vitest, "run", "--config", "tests/support/fixtures/vitest.fixture.config.mts"], { cwd: root, timeout: 25_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { testResults: { message: string; assertionResults: { title: string; status: string; failureMessages: string[] }[] }[] };
    const [file] = report.testResults;
    const status = Object.fromEntries(file!.assertionResults.map((a) => [a.title, a.status]));
    expect(status).toEqual({
      "first test after a logging beforeAll": "failed",
      "starts a background job that logs later": "passed",
      "is running when the background job logs": "failed",
      "expects its own console.error": "passed",
      clean: "passed",
    });
    const failures = file!.assertionResults.flatMap((a) => a.failureMessages).join("\n");
    expect(failures).toContain("logged in beforeAll");
    expect(failures).toContain("logged by a background job");
    expect(file!.message).toContain("logged in afterAll");
  });
});
