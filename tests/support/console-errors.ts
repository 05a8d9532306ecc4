/** console.error calls recorded by tests/setup/fail-on-console-error.ts, per test file. */
export const consoleErrors = { calls: [] as string[] };

/**
 * Runs `run` expecting it to log exactly the console.error lines matching `pattern` (at least one);
 * any other line still fails the test. Returns what `run` returned and the lines it logged.
 */
export async function expectConsoleError<T>(pattern: RegExp, run: () => Promise<T>): Promise<{ value: T; logged: string[] }> {
  const before = consoleErrors.calls.length;
  const value = await run();
  const logged = consoleErrors.calls.splice(before);
  const unexpected = logged.filter((l) => !pattern.test(l));
  consoleErrors.calls.push(...unexpected);
  if (logged.length === unexpected.length) throw new Error(`expected a console.error matching ${pattern}, got ${logged.length ? logged.join("\n") : "none"}`);
  return { value, logged: logged.filter((l) => pattern.test(l)) };
}
