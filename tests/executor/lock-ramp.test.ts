/**
 * Behind a long blocker, the migration's lock waits start short and ramp up to the configured
 * maximum, with pauses between them: application queries queue behind at most one attempt, none
 * fails, every retry line names the blocker, and the apply goes through soon after the blocker ends.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { fixtureCatalog, recorder, removeFixtureFolders, statements } from "./support";

const MAX_LOCK_TIMEOUT_MS = 800;
const INITIAL_LOCK_TIMEOUT_MS = 50;
const MAX_RETRY_DELAY_MS = 400;
const BLOCKER_MS = 4_000;
const READERS = 20;
/** Scheduling slack on a shared 2-core machine; the bounds under test are the configured ones. */
const SLACK_MS = 700;
const BLOCKER_APP = "nightly-report";
const BLOCKER_QUERY = "select count(*) as n from visits /* nightly report */";

describe("a migration behind a long blocker, with application traffic", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  const clients: postgres.Sql[] = [];

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_ramp" });
    catalog = await fixtureCatalog([
      { tag: "0000_visits", up: statements("CREATE TABLE visits (id int PRIMARY KEY, patient text NOT NULL)", "INSERT INTO visits SELECT g, 'p' || g FROM generate_series(1, 1000) g") },
      { tag: "0001_visit_notes", up: statements("ALTER TABLE visits ADD COLUMN notes text") },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_visits" });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    await db?.drop();
    removeFixtureFolders();
  });

  it("keeps every application wait within the current attempt's lock timeout and applies right after the blocker ends", async () => {
    let reading = true;
    const waits: number[] = [];
    let failed = 0;
    const readers = Array.from({ length: READERS }, () => {
      const c = postgres(db.url, { max: 1, onnotice: () => {} });
      clients.push(c);
      return c;
    });
    // Connected before the blocker starts its clock: a connection's start-up is not a lock wait.
    await Promise.all(readers.map((reader) => reader`select 1`));
    const blocker = postgres(db.url, { max: 1, onnotice: () => {}, connection: { application_name: BLOCKER_APP } });
    clients.push(blocker);
    let blockerPid = 0;
    let holds!: () => void;
    const holding = new Promise<void>((r) => (holds = r));
    let releasedAt = 0;
    await blocker`select 1`;
    const blockerDone = blocker.begin(async (tx) => {
      blockerPid = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
      await tx.unsafe(BLOCKER_QUERY);
      holds();
      await new Promise((r) => setTimeout(r, BLOCKER_MS));
      releasedAt = performance.now();
    });
    await holding;

    const traffic = readers.map(async (reader, i) => {
      while (reading) {
        const t = performance.now();
        try {
          await reader`select patient from visits where id = ${(i * 37) % 1000 + 1}`;
        } catch {
          failed++;
        }
        waits.push(performance.now() - t);
      }
    });

    const { onEvent, of } = recorder();
    const result = await applyMigrations({
      url: db.url,
      catalog,
      actor: "ana@clinic.example",
      onEvent,
      options: { lockTimeoutMs: MAX_LOCK_TIMEOUT_MS, initialLockTimeoutMs: INITIAL_LOCK_TIMEOUT_MS, maxRetryDelayMs: MAX_RETRY_DELAY_MS, maxRetries: 100 },
    });
    const appliedAt = performance.now();
    reading = false;
    await Promise.all(traffic);
    await blockerDone;

    expect(result.migrations).toEqual(["0001_visit_notes"]);
    expect(failed).toBe(0);
    const sorted = [...waits].sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
    const max = sorted.at(-1)!;
    console.info(`ramped pile-up: ${waits.length} application reads, p99 ${p99.toFixed(0)} ms, max ${max.toFixed(0)} ms; applied ${(appliedAt - releasedAt).toFixed(0)} ms after the blocker ended; ${of("retry").length} retries`);
    expect(max).toBeLessThan(MAX_LOCK_TIMEOUT_MS + SLACK_MS);
    // The queue did form behind the attempts (the bound above is not vacuous).
    expect(max).toBeGreaterThan(INITIAL_LOCK_TIMEOUT_MS);
    expect(appliedAt - releasedAt).toBeLessThan(MAX_RETRY_DELAY_MS + SLACK_MS + 1_000);

    const retries = of("retry");
    const timeouts = retries.map((r) => r.lockTimeoutMs);
    expect(timeouts[0]).toBe(INITIAL_LOCK_TIMEOUT_MS);
    expect(timeouts).toEqual([...timeouts].sort((a, b) => a - b));
    expect(retries.every((r) => r.nextLockTimeoutMs <= MAX_LOCK_TIMEOUT_MS)).toBe(true);
    expect(retries.length).toBeGreaterThanOrEqual(3);
    for (const r of retries) {
      expect(r.delayMs).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS);
      expect(r.message).toContain(`pid ${blockerPid}`);
      expect(r.message).toContain(`application "${BLOCKER_APP}"`);
      expect(r.message).toContain(BLOCKER_QUERY);
      expect(r.message).toMatch(/idle in transaction for \d+\.\d s/);
    }
  });
});

/** A deferred foreign key is checked at COMMIT, where it can wait for a row lock like any statement. */
describe("a migration whose deferred constraint waits for a row lock at COMMIT", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_ramp_commit" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)", "INSERT INTO patients VALUES (1)") },
      {
        tag: "0001_referrals",
        up: statements("CREATE TABLE referrals (id int PRIMARY KEY, patient_id int NOT NULL REFERENCES patients DEFERRABLE INITIALLY DEFERRED)", "INSERT INTO referrals VALUES (1, 1)"),
      },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_patients" });
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("retries under the lock ramp and applies once the row is free", async () => {
    const blocker = await db.sql.reserve();
    await blocker`begin`;
    await blocker`select id from patients where id = 1 for update`;
    const { onEvent, of } = recorder();
    const run = applyMigrations({
      url: db.url,
      catalog,
      actor: "ana@clinic.example",
      onEvent,
      options: { initialLockTimeoutMs: 50, lockTimeoutMs: 200, maxRetries: 30, retryBaseDelayMs: 50, maxRetryDelayMs: 100 },
    });
    run.catch(() => {}); // awaited below
    await new Promise((r) => setTimeout(r, 1_000));
    await blocker`commit`;
    blocker.release();

    const result = await run;
    expect(result.migrations).toEqual(["0001_referrals"]);
    expect(of("retry").length).toBeGreaterThan(0);
    expect(of("retry")[0]).toMatchObject({ tag: "0001_referrals" });
    expect(await db.sql`select id, patient_id from referrals`).toEqual([{ id: 1, patient_id: 1 }]);
  });
});
