import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations, ExecutorError, type RunResult } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { fixtureCatalog, historyRows, removeFixtureFolders, statements } from "./support";

describe("two applies on the same target", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_concurrent" });
    catalog = await fixtureCatalog([
      { tag: "0000_slow", up: statements("CREATE TABLE visits (id int PRIMARY KEY)", "SELECT pg_sleep(1.5)", "ALTER TABLE visits ADD COLUMN note text") },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("lets exactly one proceed; the other is refused at once, naming the run and actor that hold the target", async () => {
    const started = performance.now();
    const attempt = (runId: string, actor: string) =>
      applyMigrations({ url: db.url, catalog, actor, runId }).then(
        (result) => ({ runId, actor, result, error: null, settledMs: performance.now() - started }),
        (error: unknown) => ({ runId, actor, result: null, error, settledMs: performance.now() - started }),
      );
    const outcomes = await Promise.all([
      attempt("a1d2c3b4-0000-4000-8000-00000000000a", "ana@clinic.example"),
      attempt("b1d2c3b4-0000-4000-8000-00000000000b", "bruno@clinic.example"),
    ]);

    const winners = outcomes.filter((o) => o.result);
    const losers = outcomes.filter((o) => o.error);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const winner = winners[0]!;
    const loser = losers[0]!;
    expect((winner.result as RunResult).migrations).toEqual(["0000_slow"]);

    const error = loser.error as ExecutorError;
    expect(error).toBeInstanceOf(ExecutorError);
    expect(error.code).toBe("target_locked");
    expect(error.message).toContain(`run ${winner.runId}`);
    // application_name holds 63 bytes: the run id always fits; an actor that does not is cut visibly, never silently.
    const named = /\bby (\S+?),/.exec(error.message)?.[1];
    const actorShown = named === winner.actor || (named?.endsWith("...") && winner.actor.startsWith(named.slice(0, -3)));
    expect(actorShown, `the actor as named in: ${error.message}`).toBe(true);
    expect(error.details.holder?.pid).toEqual(expect.any(Number));
    // "At once": refused while the winner was still sleeping, not after waiting for it.
    expect(loser.settledMs).toBeLessThan(winner.settledMs - 500);

    const history = await historyRows(db.sql);
    expect(history).toEqual([{ tag: "0000_slow", direction: "up", runId: winner.runId, actor: winner.actor }]);
  });

  it("lets the next apply in once the first has finished", async () => {
    const next = await applyMigrations({ url: db.url, catalog, actor: "carla@clinic.example" });
    expect(next.migrations).toEqual([]);
    expect(next.status.pending).toEqual([]);
  });
});
