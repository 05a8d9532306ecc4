/**
 * Backfill deployments end to end on real PostgreSQL: a worker process SIGKILLed mid-run, pause,
 * resume, cancel, yielding to a long transaction, and "every row changed exactly once" proved by a
 * trigger that counts each row's updates.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cancelBackfill, pauseBackfill, resumeBackfill } from "../../lib/deployments/backfill-control";
import { createDeployment, enqueueDeployment } from "../../lib/deployments/service";
import { startDeploymentWorker, type WorkerHandle } from "../../lib/jobs/queue";
import { auditEvents, backfillProgress, deployments, runEvents, runs } from "../../lib/store/schema";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";
import { useItemsTable, waitFor } from "./support";

const FIXTURES = path.resolve(import.meta.dirname, "fixtures");
const CHILD = path.join(FIXTURES, "backfill-child.ts");
const ROWS = 3000;

let c: TestConsole;
let target: postgres.Sql;
let worker: WorkerHandle | null = null;

beforeAll(async () => {
  c = await startTestConsole({ local: 9 }, { worker: false });
  await useItemsTable(c);
  c.deps.backfillLimits = { maxTransactionAgeMs: 1_000, recheckMs: 100 };
  target = postgres(c.targets.local!.url, { max: 2, onnotice: () => {} });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await target?.end();
  await c?.close();
});

beforeEach(async () => {
  await target.unsafe(`TRUNCATE public.bf_items; INSERT INTO public.bf_items (id, value) SELECT g, g FROM generate_series(1, ${ROWS}) g`);
});

async function startWorker() {
  worker ??= await startDeploymentWorker(c.boss, c.deps);
}

async function openBackfill(name = "double-items") {
  const engineer = await c.actor(EMAIL.engineer);
  const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: name, to: null });
  expect(created.state, JSON.stringify([created.plan.blockers, created.plan.rehearsal, created.plan.backfill?.rehearsal])).toBe("approved");
  await enqueueDeployment(c.deps, engineer, { id: created.id });
  return created;
}

async function progressOf(id: string) {
  const [p] = await c.store.db.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, id));
  return p ?? null;
}

const stateOf = async (id: string) => (await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, id)))[0]!.state;

async function touchCounts() {
  return target<{ touched: number; rows: number; wrong: number }[]>`
    select touched, count(*)::int as rows, count(*) filter (where value <> id * 2 * touched + id * (1 - touched))::int as wrong from public.bf_items group by touched order by touched`;
}

function runChild(id: string, killAfter?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, id, c.deps.backfillsDir!, ...(killAfter ? [String(killAfter)] : [])], {
    env: { ...process.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.stdout!.resume();
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })));
}

describe("a worker killed mid-backfill", () => {
  it("is resumed by another worker from the stored cursor, and every row is changed exactly once", async () => {
    const created = await openBackfill();
    // Claimed as the worker claims (queued → running, one run); the run goes to a child process that
    // dies right after its 7th batch committed on the target, before that batch's cursor reached the store.
    await c.store.db.transaction(async (tx) => {
      await tx.update(deployments).set({ state: "running" }).where(eq(deployments.id, created.id));
      await tx.insert(runs).values({ deploymentId: created.id, state: "running", worker: "child" });
    });
    const killed = await runChild(created.id, 7);
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const atKill = (await progressOf(created.id))!;
    expect(atKill.batches).toBe(6); // the 7th batch committed on the target, not in the store
    const [onTarget] = await target<{ changed: number }[]>`select count(*)::int as changed from public.bf_items where done`;
    expect(onTarget!.changed).toBeGreaterThan(atKill.rowsDone);

    // Housekeeping finds the backfill nobody holds and sends it to this worker, which resumes.
    await startWorker();
    await waitFor("the backfill to succeed", () => stateOf(created.id), (s) => s === "succeeded");
    expect(await touchCounts()).toEqual([{ touched: 1, rows: ROWS, wrong: 0 }]);
    const done = (await progressOf(created.id))!;
    expect(done).toMatchObject({ status: "succeeded", rowsDone: ROWS, rowsTotal: ROWS });
    const events = await c.store.db.select({ type: runEvents.type }).from(runEvents).innerJoin(runs, eq(runs.id, runEvents.runId)).where(eq(runs.deploymentId, created.id));
    expect(events.map((e) => e.type)).toContain("backfill_resumed_by_worker");
  }, 90_000);

  it("killed at an arbitrary moment by the test, still changes every row exactly once", async () => {
    const created = await openBackfill();
    await worker?.stop();
    worker = null;
    await c.store.db.transaction(async (tx) => {
      await tx.update(deployments).set({ state: "running" }).where(eq(deployments.id, created.id));
      await tx.insert(runs).values({ deploymentId: created.id, state: "running", worker: "child" });
    });
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, created.id, c.deps.backfillsDir!], { env: process.env, stdio: "ignore" });
    const exited = new Promise((r) => child.on("exit", r));
    await waitFor("some batches", () => progressOf(created.id), (p) => (p?.batches ?? 0) >= 4);
    child.kill("SIGKILL");
    await exited;
    await startWorker();
    await waitFor("the backfill to succeed", () => stateOf(created.id), (s) => s === "succeeded");
    expect(await touchCounts()).toEqual([{ touched: 1, rows: ROWS, wrong: 0 }]);
  }, 90_000);
});

describe("a release manager pauses, resumes and cancels", () => {
  beforeAll(startWorker);

  it("pause stops it between batches, resume goes on from the cursor; both are audited", async () => {
    const created = await openBackfill();
    const release = await c.actor(EMAIL.release);
    await waitFor("a few batches", () => progressOf(created.id), (p) => (p?.batches ?? 0) >= 2);
    const engineer = await c.actor(EMAIL.engineer);
    await expect(pauseBackfill(c.deps, engineer, { id: created.id })).rejects.toThrow(/release manager/);
    await pauseBackfill(c.deps, release, { id: created.id, reason: "clinic opening hours" });
    const paused = (await waitFor("the pause to be taken", () => progressOf(created.id), (p) => p?.status === "paused"))!;
    expect(paused.lastPauseReason).toBe(`Paused by ${release.name}: clinic opening hours`);
    await new Promise((r) => setTimeout(r, 600));
    const still = (await progressOf(created.id))!;
    expect(still.rowsDone).toBe(paused.rowsDone);
    expect(still.rowsDone).toBeLessThan(ROWS);
    expect(await stateOf(created.id)).toBe("running");

    await resumeBackfill(c.deps, release, { id: created.id });
    await waitFor("the backfill to succeed", () => stateOf(created.id), (s) => s === "succeeded");
    expect(await touchCounts()).toEqual([{ touched: 1, rows: ROWS, wrong: 0 }]);
    const audit = await c.store.db.select({ action: auditEvents.action, actor: auditEvents.actorEmail }).from(auditEvents).where(eq(auditEvents.subjectId, created.id));
    expect(audit).toEqual(expect.arrayContaining([{ action: "backfill.paused", actor: EMAIL.release }, { action: "backfill.resumed", actor: EMAIL.release }, { action: "deployment.backfilled", actor: "worker" }]));
  }, 90_000);

  it("cancel stops it for good: the rows done stay done, the rest untouched", async () => {
    const created = await openBackfill();
    const release = await c.actor(EMAIL.release);
    await waitFor("a few batches", () => progressOf(created.id), (p) => (p?.batches ?? 0) >= 2);
    await cancelBackfill(c.deps, release, { id: created.id });
    await waitFor("the cancel", () => stateOf(created.id), (s) => s === "cancelled");
    const p = (await progressOf(created.id))!;
    expect(p.status).toBe("cancelled");
    const counts = await touchCounts();
    expect(counts.find((r) => r.touched === 1)?.rows).toBe(p.rowsDone);
    expect(counts.every((r) => r.touched <= 1 && r.wrong === 0)).toBe(true);
    await expect(resumeBackfill(c.deps, release, { id: created.id })).rejects.toThrow("The backfill is not running: the deployment was cancelled.");
  }, 90_000);

  it("a paused backfill is cancelled at once, without a worker", async () => {
    const created = await openBackfill();
    const release = await c.actor(EMAIL.release);
    await waitFor("a batch", () => progressOf(created.id), (p) => (p?.batches ?? 0) >= 1);
    await pauseBackfill(c.deps, release, { id: created.id });
    await waitFor("the pause", () => progressOf(created.id), (p) => p?.status === "paused");
    await cancelBackfill(c.deps, release, { id: created.id });
    expect(await stateOf(created.id)).toBe("cancelled");
  }, 60_000);
});

describe("yielding to the target", () => {
  beforeAll(startWorker);

  it("waits while a long transaction holds back vacuum, says why, and goes on after it ends", async () => {
    const holder = postgres(c.targets.local!.url, { max: 1, onnotice: () => {}, connection: { application_name: "report-export" } });
    const reserved = await holder.reserve();
    try {
      await reserved`begin isolation level repeatable read`;
      await reserved`select count(*) from public.bf_items`;
      await new Promise((r) => setTimeout(r, 1_200)); // older than the 1 s limit the test configured
      const created = await openBackfill();
      const throttled = (await waitFor("the runner to yield", () => progressOf(created.id), (p) => p?.status === "throttled"))!;
      expect(throttled.lastPauseKind).toBe("pressure");
      expect(throttled.lastPauseReason).toMatch(/A transaction has been open for [\d.]+ s \(pid \d+, "report-export"/);
      expect(throttled.lastPauseReason).toMatch(/holds back vacuum on public\.bf_items/);
      await new Promise((r) => setTimeout(r, 500));
      expect((await progressOf(created.id))!.rowsDone).toBe(throttled.rowsDone);

      await reserved`commit`;
      await waitFor("the backfill to succeed", () => stateOf(created.id), (s) => s === "succeeded");
      const p = (await progressOf(created.id))!;
      expect(p.lastResumeAt!.getTime()).toBeGreaterThan(p.lastPauseAt!.getTime());
      expect(await touchCounts()).toEqual([{ touched: 1, rows: ROWS, wrong: 0 }]);
    } finally {
      reserved.release();
      await holder.end();
    }
  }, 90_000);
});
