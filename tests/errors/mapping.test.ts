/** One mapping from what went wrong to what a user reads, for the web, the CLI and the worker. */
import { describe, expect, it } from "vitest";
import { CatalogError } from "../../lib/migrations/errors";
import { ConfigError } from "../../lib/config/env";
import { AppError, toErrorPayload, UNEXPECTED_MESSAGE } from "../../lib/errors";
import { ExecutorError } from "../../lib/executor/errors";
import { runError } from "../../lib/jobs/run-deployment";

const logged: unknown[] = [];
const map = (e: unknown) => toErrorPayload(e, (_m, err) => logged.push(err));

describe("toErrorPayload", () => {
  it("keeps a domain error's code and message and adds what to do", () => {
    const locked = new ExecutorError("target_locked", "staging is being changed by run 1234 (release@demo.local) since 10:02.", { holder: { pid: 7, application: "x", since: null } });
    expect(map(locked)).toEqual({
      code: "target_locked",
      status: 409,
      message: "staging is being changed by run 1234 (release@demo.local) since 10:02.",
      hint: "Wait for the other run to finish, then try again.",
      details: { holder: { pid: 7, application: "x", since: null } },
    });
    expect(map(new AppError("stale_plan", "The plan is stale."))).toMatchObject({ code: "stale_plan", status: 409, hint: expect.stringMatching(/^Recompute the plan/) });
    expect(map(new AppError("promotion", "Production only takes …"))).toMatchObject({ code: "promotion", status: 403, hint: expect.stringMatching(/upstream environment first/) });
    expect(map(new AppError("forbidden", "Needs a release manager."))).toEqual({ code: "forbidden", status: 403, message: "Needs a release manager." });
    expect(map(new CatalogError("journal-missing", "/x/meta/_journal.json", "The journal is missing."))).toMatchObject({ code: "catalog", details: { file: "/x/meta/_journal.json" } });
    expect(map(new ConfigError(["NEXTAUTH_SECRET is unset."]))).toMatchObject({ code: "config", message: expect.stringContaining("NEXTAUTH_SECRET is unset.") });
    expect(logged).toEqual([]);
  });

  it("reads a connection failure, also wrapped by drizzle, as unreachable and never shows its URL", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1 postgres://u:secret@h/db"), { code: "ECONNREFUSED" });
    const wrapped = Object.assign(new Error("Failed query: select 1"), { cause: refused });
    for (const e of [refused, wrapped]) {
      const payload = map(e);
      expect(payload).toMatchObject({ code: "unreachable", status: 503, hint: expect.stringMatching(/server is running .*CONSOLE_DATABASE_URL .*SHADOW_DATABASE_URL/) });
      expect(payload.message).toBe("A database the console needs cannot be reached: Connection refused: no PostgreSQL is listening at that address.");
    }
    expect(logged).toEqual([]);
  });

  it("says 'Something went wrong' only for the unexpected, and logs it", () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    expect(map(bug)).toEqual({ code: "internal", status: 500, message: UNEXPECTED_MESSAGE });
    expect(logged).toEqual([bug]);
  });

  it("gives the worker's run log the same code, message and hint", () => {
    expect(runError(new ExecutorError("lock_timeout", "Waited too long for a lock on public.appointments.", { blockers: [] }))).toEqual({
      code: "lock_timeout",
      message: "Waited too long for a lock on public.appointments.",
      blockers: [],
      hint: expect.stringMatching(/try again when it is quieter/),
    });
    expect(runError(new AppError("stale_plan", "The plan is stale."))).toMatchObject({ code: "stale_plan", message: "The plan is stale.", hint: expect.stringMatching(/Recompute/) });
    // An unexpected failure keeps its text for the operators, without a URL.
    expect(runError(new Error("boom at postgres://u:pw@h/db"))).toEqual({ code: "internal", message: "boom at (url)" });
  });
});
