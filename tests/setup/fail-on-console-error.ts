/**
 * An unexpected console.error is a bug the test should not hide, wherever it happens in a test
 * file: in a test, in beforeAll/afterAll, or in a background handler (a pg-boss job, a timer) that
 * logs after the test that started it returned. Each call is recorded and fails the test it happened
 * in (afterEach), the first test after a beforeAll that logged (beforeEach), or the file (afterAll).
 * A test that expects one says so with `expectConsoleError` (tests/support/console-errors.ts).
 */
import { format } from "node:util";
import { afterAll, afterEach, beforeEach, vi } from "vitest";
import { consoleErrors } from "../support/console-errors";

console.error = (...args: unknown[]) => {
  consoleErrors.calls.push(format(...args));
};

function takeCalls(where: string): void {
  const calls = consoleErrors.calls.splice(0);
  if (calls.length > 0) throw new Error(`console.error was called ${where}:\n${calls.join("\n")}`);
}

beforeEach(() => takeCalls("before this test (in beforeAll, or by a background job of an earlier test)"));

afterEach(() => {
  vi.restoreAllMocks();
  takeCalls("during this test");
});

afterAll(() => takeCalls("after the last test (in afterAll, or by a background job)"));
