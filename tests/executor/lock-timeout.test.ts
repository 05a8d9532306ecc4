import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { failure, fixtureCatalog, recorder, removeFixtureFolders, statements } from "./support";

const LOCK_TIMEOUT_MS = 500;
/**
 * A query queued behind the ALTER waits at most lock_timeout, plus its own run time. That run time
 * is measured in the same process just before (its slowest of 20 uncontended runs, so a loaded
 * machine widens the bound only by what it costs every query), plus 150 ms for waking the queue.
 */
const WAKE_SLACK_MS = 150;
const BLOCKER_QUERY = "select count(*) as n from visits /* reporting job */";

describe("a migration that cannot get its lock", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  const clients: postgres.Sql[] = [];
  let release = () => {};
  const client = () => {
    const c = postgres(db.url, { max: 1, onnotice: () => {} });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_pileup" });
    catalog = await fixtureCatalog([
      { tag: "0000_visits", up: statements("CREATE TABLE visits (id int PRIMARY KEY, patient text NOT NULL)", "INSERT INTO visits SELECT g, 'p' || g FROM generate_series(1, 100) g") },
      // ACCESS EXCLUSIVE on visits: it queues behind any open transaction that read the table.
      { tag: "0001_visit_notes", up: statements("ALTER TABLE visits ADD COLUMN notes text") },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_visits" });
  });
  afterAll(async () => {
    release();
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    await db?.drop();
    removeFixtureFolders();
  });

  it("never makes application queries wait longer than lock_timeout, retries, then names the blocker", async () => {
    const app = client();
    let baselineMs = 0;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await app`select count(*) from visits where patient = 'p42'`;
      baselineMs = Math.max(baselineMs, performance.now() - t);
    }

    // A session that read the table and stays idle in its transaction (a stuck report, a forgotten BEGIN).
    const blocker = client();
    const released = new Promise<void>((r) => (release = r));
    let blockerPid = 0;
    let blockerHolds!: () => void;
    const holding = new Promise<void>((r) => (blockerHolds = r));
    const blockerDone = blocker.begin(async (tx) => {
      blockerPid = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
      await tx.unsafe(BLOCKER_QUERY);
      blockerHolds();
      await released;
    });
    await holding;

    // The application keeps reading the table while the migration tries to alter it.
    const waits: number[] = [];
    let applying = true;
    const traffic = (async () => {
      while (applying) {
        const t = performance.now();
        await app`select count(*) from visits where patient = 'p42'`;
        waits.push(performance.now() - t);
      }
    })();

    const { onEvent, of } = recorder();
    // One fixed lock_timeout (no ramp), so the queue's bound is that one value.
    const error = await failure(
      applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent, options: { lockTimeoutMs: LOCK_TIMEOUT_MS, initialLockTimeoutMs: LOCK_TIMEOUT_MS, maxRetries: 2, retryBaseDelayMs: 100 } }),
    ).finally(() => (applying = false));
    await traffic;

    const maxWait = Math.max(...waits);
    console.info(`lock pile-up: ${waits.length} application queries, max wait ${maxWait.toFixed(0)} ms (lock_timeout ${LOCK_TIMEOUT_MS} ms, uncontended query ≤ ${baselineMs.toFixed(0)} ms)`);
    expect(maxWait).toBeLessThan(LOCK_TIMEOUT_MS + baselineMs + WAKE_SLACK_MS);
    // The queue did form (the bound above is not vacuous): some query waited behind the ALTER for most of lock_timeout.
    expect(maxWait).toBeGreaterThan(LOCK_TIMEOUT_MS / 2);

    expect(error.code).toBe("lock_timeout");
    expect(error.message).toContain(`pid ${blockerPid}`);
    expect(error.message).toContain(BLOCKER_QUERY);
    expect(error.message).toMatch(/idle in transaction/);
    expect(error.details).toMatchObject({ tag: "0001_visit_notes", statement: 1, sqlstate: "55P03" });
    expect(error.details.blockers?.map((b) => b.pid)).toEqual([blockerPid]);
    expect(of("retry").map((e) => [e.attempt, e.maxRetries])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(of("retry").every((e) => e.blockers.some((b) => b.pid === blockerPid))).toBe(true);

    const status = await readStatus(db.url, catalog);
    expect(status.pending).toEqual(["0001_visit_notes"]);

    release();
    await blockerDone;
    const rerun = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", options: { lockTimeoutMs: LOCK_TIMEOUT_MS } });
    expect(rerun.migrations).toEqual(["0001_visit_notes"]);
  });
});
