/**
 * Backfill cases beyond the demo's shape, on real PostgreSQL: a key the table generates itself
 * (GENERATED ALWAYS AS IDENTITY) beside a generated column, a deadlock with the application, and a
 * backfill that copies tagged data into an untagged column.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listBackfills, loadBackfill } from "../../lib/backfills/definition";
import { runBatches } from "../../lib/backfills/runner";
import { connectTarget, inspectTarget } from "../../lib/backfills/target";
import { DEFAULT_PRESSURE_LIMITS } from "../../lib/backfills/pressure";
import { backfillView, pauseBackfill, resumeBackfill } from "../../lib/deployments/backfill-control";
import { createDeployment, enqueueDeployment } from "../../lib/deployments/service";
import { startDeploymentWorker, type WorkerHandle } from "../../lib/jobs/queue";
import { backfillProgress, deployments, runEvents, runs } from "../../lib/store/schema";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";
import { BACKFILL_FIXTURES, useItemsTable, waitFor } from "./support";

const EXTRA = `CREATE TABLE public.bf_generated (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, value int NOT NULL, doubled int GENERATED ALWAYS AS (value * 2) STORED, done boolean NOT NULL DEFAULT false);
--> statement-breakpoint
CREATE TABLE public.bf_pair (a int NOT NULL, b int NOT NULL, done boolean NOT NULL DEFAULT false, PRIMARY KEY (a, b));
--> statement-breakpoint
CREATE TABLE public.bf_chase (id bigint PRIMARY KEY, done boolean NOT NULL DEFAULT false);
--> statement-breakpoint
CREATE TABLE public.bf_ahead (id bigint PRIMARY KEY, done boolean NOT NULL DEFAULT false);`;

const DEFINITIONS: Record<string, object> = {
  "generated-keys": {
    description: "Test backfill over a table whose key is an identity column and that has a generated column.",
    table: "public.bf_generated",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { value: "value + 1", done: "true" },
    predicate: "NOT done",
    batch: { initialSize: 20, minSize: 10, maxSize: 200 },
  },
  "copy-cpf": {
    description: "Test backfill copying each patient's CPF into the medical record number.",
    table: "public.patients",
    key: "id",
    requires: "0002_brazilian_compliance",
    set: { medical_record_number: "cpf" },
    predicate: "medical_record_number IS NULL AND cpf IS NOT NULL",
  },
  "quick-lock-timeout": {
    description: "Test backfill whose batches give up on a row lock after 10 ms.",
    table: "public.bf_items",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { done: "true" },
    predicate: "NOT done",
    batch: { initialSize: 100, minSize: 10, maxSize: 200, lockTimeoutMs: 10 },
  },
  "chase-items": {
    description: "Test backfill over a table where every row done makes a new one behind the cursor.",
    table: "public.bf_chase",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { done: "true" },
    predicate: "NOT done",
  },
  "not-idempotent": {
    description: "Test backfill whose set leaves the predicate true: a replayed batch would change rows again.",
    table: "public.bf_items",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { value: "value + 1" },
    predicate: "value > 0",
  },
  "ahead-items": {
    description: "Test backfill over a table where every row done makes a new one ahead of the cursor.",
    table: "public.bf_ahead",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { done: "true" },
    predicate: "NOT done",
  },
  "slow-items": {
    description: "Test backfill that takes about 10 ms a row, so it can be paused.",
    table: "public.bf_items",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { done: "true", note: "(SELECT 'slow' FROM pg_sleep(0.01))" },
    predicate: "NOT done",
    batch: { initialSize: 10, minSize: 10, maxSize: 20 },
  },
  "quick-items": {
    description: "Test backfill of small cheap batches: its session sits idle between them most of the time.",
    table: "public.bf_items",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { done: "true" },
    predicate: "NOT done",
    batch: { initialSize: 10, minSize: 10, maxSize: 10 },
  },
  "predicate-breakout": {
    description: "Test backfill whose predicate closes the parenthesis it is put in and opens another.",
    table: "public.bf_items",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { done: "true" },
    predicate: "NOT done) OR (true",
  },
  "set-breakout": {
    description: "Test backfill whose set expression ends itself and sets a column it does not declare.",
    table: "public.bf_items",
    key: "id",
    requires: "0000_extensions_and_schemas",
    set: { done: "true, value = 0" },
    predicate: "NOT done",
  },
  "pair-part": {
    description: "Test backfill walking one column of a two-column primary key.",
    table: "public.bf_pair",
    key: "a",
    requires: "0000_extensions_and_schemas",
    set: { done: "true" },
    predicate: "NOT done",
  },
};

let c: TestConsole;
let target: postgres.Sql;
let worker: WorkerHandle | null = null;
let dir: string;

beforeAll(async () => {
  c = await startTestConsole({ local: 9 }, { worker: false });
  await useItemsTable(c, EXTRA, "DROP TABLE public.bf_generated;\n--> statement-breakpoint\nDROP TABLE public.bf_pair;\n--> statement-breakpoint\nDROP TABLE public.bf_chase;\n--> statement-breakpoint\nDROP TABLE public.bf_ahead;");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bf-review-"));
  fs.cpSync(BACKFILL_FIXTURES, dir, { recursive: true });
  for (const [name, def] of Object.entries(DEFINITIONS)) fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(def, null, 2));
  c.deps.backfillsDir = dir;
  c.deps.backfillLimits = { recheckMs: 100 };
  target = postgres(c.targets.local!.url, { max: 3, onnotice: () => {} });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await target?.end();
  await c?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});


describe("a table that generates its own key and a column", () => {
  it("is rehearsed on the shadow and backfilled: every row once", async () => {
    await target.unsafe("INSERT INTO public.bf_generated (value) SELECT g FROM generate_series(1, 500) g");
    const engineer = await c.actor(EMAIL.engineer);
    const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "generated-keys" });
    expect(created.plan.backfill!.rehearsal, JSON.stringify(created.plan.backfill!.rehearsal)).toMatchObject({ ok: true, error: null });
    expect(created.plan.backfill!.rehearsal.sampleRows).toBeGreaterThan(0);
    expect(created.state).toBe("approved");
    await enqueueDeployment(c.deps, engineer, { id: created.id });
    worker ??= await startDeploymentWorker(c.boss, c.deps);
    const state = async () => (await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, created.id)))[0]!.state;
    expect(await waitFor("the backfill to end", state, (s) => s !== "queued" && s !== "running")).toBe("succeeded");
    const [rows] = await target<{ done: number; wrong: number }[]>`select count(*) filter (where done)::int as done, count(*) filter (where value <> id + 1 or doubled <> value * 2)::int as wrong from public.bf_generated`;
    expect(rows).toEqual({ done: 500, wrong: 0 });
    const [p] = await c.store.db.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, created.id));
    expect(p).toMatchObject({ rowsDone: 500, rowsTotal: 500 });
  }, 90_000);
});

describe("a deadlock with the application", () => {
  it("costs the batch a retry, not the run: the batch is done again and every row changed once", async () => {
    await target.unsafe("TRUNCATE public.bf_items; INSERT INTO public.bf_items (id, value) SELECT g, g FROM generate_series(1, 1000) g");
    const definition = await loadBackfill(dir, "untagged-items");
    const sql = connectTarget(c.targets.local!.url, "deadlock-test");
    const app = await target.reserve();
    const retries: string[] = [];
    try {
      // The application holds row 500 and, once the batch waits for it, asks for row 1, which the batch holds.
      await app`begin`;
      await app`update public.bf_items set value = value where id = 500`;
      const facts = await inspectTarget(sql, definition);
      const run = runBatches({
        sql,
        definition,
        keyType: facts.keyType,
        tuning: { ...definition.batch, initialSize: 1000, maxSize: 1000, lockTimeoutMs: 10_000 },
        limits: { ...DEFAULT_PRESSURE_LIMITS, recheckMs: 100 },
        start: { cursor: null, batchSize: 1000, rowsPerSecond: null },
        hooks: { control: async () => "run", saveBatch: async () => {}, pressure: async () => {}, retry: async (r) => void retries.push(r.error) },
      }).then(
        (outcome) => ({ outcome }),
        (e: Error) => ({ error: e.message }),
      );
      await waitFor(
        "the batch to wait for row 500",
        async () => (await target`select count(*)::int as n from pg_stat_activity where application_name like 'migration-console backfill deadlock-test%' and wait_event_type = 'Lock'`)[0]!.n,
        (n) => n > 0,
      );
      await app`update public.bf_items set value = value where id = 1`;
      await app`commit`;
      expect(await run).toEqual({ outcome: "done" });
    } finally {
      app.release();
      await sql.end();
    }
    expect(retries.join(" | ")).toMatch(/deadlock detected/);
    // Rows 1 and 500 were also updated once by the application (the trigger counts every update).
    expect(await target`select done, touched - (id in (1, 500))::int as backfilled, count(*)::int as rows from public.bf_items group by 1, 2`).toEqual([{ done: true, backfilled: 1, rows: 1000 }]);
  }, 60_000);
});

describe("tagged data copied into an untagged column", () => {
  it("needs the compliance officer's sign-off, like writing a tagged column", async () => {
    const engineer = await c.actor(EMAIL.engineer);
    const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "copy-cpf" });
    expect(created.plan.backfill!.columns).toEqual([{ name: "medical_record_number", expression: "cpf", dataClass: null }]);
    expect(created.plan.requiresComplianceSignoff).toBe(true);
    expect(created.plan.findings.filter((f) => f.requiresComplianceSignoff).flatMap((f) => f.touches.classes)).toContain("identifier");
    expect(created.state).toBe("awaiting_approval");
    await expect(enqueueDeployment(c.deps, engineer, { id: created.id })).rejects.toThrow(/compliance/i);
  }, 60_000);
});

describe("a table whose primary key has two columns", () => {
  it("is refused naming the key it has: walking one of its columns would skip rows at a batch's edge", async () => {
    const definition = await loadBackfill(dir, "pair-part");
    const sql = connectTarget(c.targets.local!.url, "pair-test");
    try {
      await expect(inspectTarget(sql, definition)).rejects.toThrow("the primary key of public.bf_pair is (a, b); a backfill walks a single-column primary key");
    } finally {
      await sql.end();
    }
  });
});

describe("a batch that keeps timing out on a row the application holds", () => {
  it("pauses the backfill saying why, and a release manager resumes it once the row is free", async () => {
    await target.unsafe("TRUNCATE public.bf_items; INSERT INTO public.bf_items (id, value) SELECT g, g FROM generate_series(1, 300) g");
    const app = await target.reserve();
    try {
      await app`begin`;
      await app`update public.bf_items set value = value where id = 150`;
      const engineer = await c.actor(EMAIL.engineer);
      const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "quick-lock-timeout" });
      await enqueueDeployment(c.deps, engineer, { id: created.id });
      worker ??= await startDeploymentWorker(c.boss, c.deps);
      const progress = async () => (await c.store.db.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, created.id)))[0] ?? null;
      const state = async () => (await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, created.id)))[0]!.state;
      const paused = (await waitFor("the runner to give up", progress, (p) => p?.status === "paused" || p?.status === "failed"))!;
      expect(paused).toMatchObject({ status: "paused", control: "pause", lastPauseKind: "pressure" });
      expect(paused.lastPauseReason).toMatch(/timed out, lost a deadlock or lost its connection 6 times in a row/);
      expect(await state()).toBe("running");

      await app`commit`;
      await resumeBackfill(c.deps, await c.actor(EMAIL.release), { id: created.id });
      expect(await waitFor("the backfill to end", state, (s) => s !== "running")).toBe("succeeded");
      const [rows] = await target<{ done: number }[]>`select count(*) filter (where done)::int as done from public.bf_items`;
      expect(rows!.done).toBe(300);
    } finally {
      app.release();
    }
  }, 90_000);
});

describe("another backfill's file is broken", () => {
  it("does not stop this one from being planned", async () => {
    fs.writeFileSync(path.join(dir, "half-written.json"), '{ "description": "being written",');
    try {
      const engineer = await c.actor(EMAIL.engineer);
      const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "untagged-items" });
      expect(created.plan.backfill!.name).toBe("untagged-items");
      await expect(loadBackfill(dir, "half-written")).rejects.toThrow("db/backfills/half-written.json is not valid JSON");
      // The New deployment page offers the others and names the broken file.
      const listed = await listBackfills(dir);
      expect(listed.backfills.map((b) => b.name)).toContain("untagged-items");
      expect(listed.problems).toEqual([expect.stringMatching(/^db\/backfills\/half-written\.json is not valid JSON/)]);
      await expect(loadBackfill(dir, "missing")).rejects.toThrow(/There is no backfill "missing" in db\/backfills \(there are: .*untagged-items/);
    } finally {
      fs.rmSync(path.join(dir, "half-written.json"));
    }
  }, 60_000);
});

describe("rows that keep arriving behind the cursor", () => {
  it("get more passes; what is still left after the last one is shown, not reported as 100 %", async () => {
    // On the target only (the shadow's copy, built from the migrations, has no such trigger).
    await target.unsafe(`CREATE FUNCTION public.bf_chase_behind() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.bf_chase (id) VALUES (NEW.id - 1000) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
      CREATE TRIGGER bf_chase_behind AFTER UPDATE ON public.bf_chase FOR EACH ROW WHEN (NEW.done AND NOT OLD.done) EXECUTE FUNCTION public.bf_chase_behind();
      INSERT INTO public.bf_chase (id) SELECT g FROM generate_series(1, 10) g`);
    const engineer = await c.actor(EMAIL.engineer);
    const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "chase-items" });
    await enqueueDeployment(c.deps, engineer, { id: created.id });
    worker ??= await startDeploymentWorker(c.boss, c.deps);
    const state = async () => (await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, created.id)))[0]!.state;
    await waitFor("the backfill to end", state, (s) => s !== "queued" && s !== "running");
    const [left] = await target<{ n: number }[]>`select count(*)::int as n from public.bf_chase where not done`;
    expect(left!.n).toBe(10); // the third pass made 10 more
    const view = await backfillView(c.store.db, engineer, created.id);
    expect(view).toMatchObject({ rowsDone: 30, rowsTotal: 40, percent: 75 });
    const events = await c.store.db.select({ type: runEvents.type, payload: runEvents.payload }).from(runEvents).innerJoin(runs, eq(runs.id, runEvents.runId)).where(eq(runs.deploymentId, created.id));
    expect(events.find((e) => e.type === "backfill_rows_left")?.payload).toMatchObject({ rowsLeft: 10, passes: 3 });
  }, 60_000);
});

describe("a plan whose rehearsal failed, with no approval to wait for", () => {
  it("is refused at start saying the rehearsal failed, not 'Waiting for .'", async () => {
    await target.unsafe("TRUNCATE public.bf_items; INSERT INTO public.bf_items (id, value) SELECT g, g FROM generate_series(1, 50) g");
    const engineer = await c.actor(EMAIL.engineer);
    const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "not-idempotent" });
    expect(created.plan.backfill!.rehearsal.error).toMatch(/the set clause must make the predicate false/);
    await expect(enqueueDeployment(c.deps, engineer, { id: created.id })).rejects.toThrow(/^The rehearsal failed: /);
  }, 60_000);
});

describe("rows that begin to need it ahead of the cursor while it runs", () => {
  it("are added to the total as they are done: the progress never reads more done than the total", async () => {
    await target.unsafe(`CREATE FUNCTION public.bf_ahead_more() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id < 3000 THEN INSERT INTO public.bf_ahead (id) VALUES (NEW.id + 1000) ON CONFLICT DO NOTHING; END IF; RETURN NULL; END $$;
      CREATE TRIGGER bf_ahead_more AFTER UPDATE ON public.bf_ahead FOR EACH ROW WHEN (NEW.done AND NOT OLD.done) EXECUTE FUNCTION public.bf_ahead_more();
      INSERT INTO public.bf_ahead (id) SELECT g FROM generate_series(1, 10) g`);
    // Every progress row the runner writes is held to it (dropped after the test).
    await c.store.sql.unsafe("ALTER TABLE backfill_progress ADD CONSTRAINT test_done_within_total CHECK (rows_done <= rows_total)");
    try {
      const engineer = await c.actor(EMAIL.engineer);
      const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "ahead-items" });
      await enqueueDeployment(c.deps, engineer, { id: created.id });
      worker ??= await startDeploymentWorker(c.boss, c.deps);
      const state = async () => (await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, created.id)))[0]!.state;
      expect(await waitFor("the backfill to end", state, (s) => s !== "queued" && s !== "running")).toBe("succeeded");
      expect(await backfillView(c.store.db, engineer, created.id)).toMatchObject({ rowsDone: 40, rowsTotal: 40, percent: 100 });
    } finally {
      await c.store.sql.unsafe("ALTER TABLE backfill_progress DROP CONSTRAINT test_done_within_total");
    }
  }, 60_000);
});

describe("the backfill's file edited while it is paused", () => {
  it("fails the run on resume saying what to do, and keeps the rows done", async () => {
    await target.unsafe("TRUNCATE public.bf_items; INSERT INTO public.bf_items (id, value) SELECT g, g FROM generate_series(1, 300) g");
    const file = path.join(dir, "slow-items.json");
    const original = fs.readFileSync(file, "utf8");
    try {
      const engineer = await c.actor(EMAIL.engineer);
      const release = await c.actor(EMAIL.release);
      const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "slow-items" });
      await enqueueDeployment(c.deps, engineer, { id: created.id });
      worker ??= await startDeploymentWorker(c.boss, c.deps);
      const progress = async () => (await c.store.db.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, created.id)))[0] ?? null;
      await waitFor("a batch", progress, (p) => (p?.batches ?? 0) >= 1);
      await pauseBackfill(c.deps, release, { id: created.id });
      const paused = (await waitFor("the pause", progress, (p) => p?.status === "paused"))!;
      fs.writeFileSync(file, original.replace("about 10 ms a row", "about ten ms a row"));
      await resumeBackfill(c.deps, release, { id: created.id });
      const [run] = await waitFor(
        "the run to end",
        () => c.store.db.select({ state: runs.state, error: runs.error }).from(runs).where(eq(runs.deploymentId, created.id)),
        (r) => r[0]?.state !== "running",
      );
      expect(run!.state).toBe("failed");
      const error = run!.error as { message: string };
      expect(error.message).toMatch(/^db\/backfills\/slow-items\.json changed since the backfill was approved/);
      expect(error.message).not.toMatch(/Cancel it/);
      const [rows] = await target<{ done: number }[]>`select count(*) filter (where done)::int as done from public.bf_items`;
      expect(rows!.done).toBe(paused.rowsDone);
    } finally {
      fs.writeFileSync(file, original);
    }
  }, 60_000);
});

describe("a predicate or set expression that breaks out of its place in the batch statement", () => {
  it("is refused before anything is planned: `a) OR (b` would make every batch update the whole table", async () => {
    const engineer = await c.actor(EMAIL.engineer);
    await expect(createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "predicate-breakout" })).rejects.toThrow(
      "db/backfills/predicate-breakout.json: the predicate must be one SQL expression: it closes a parenthesis it did not open",
    );
    await expect(createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill: "set-breakout" })).rejects.toThrow(
      'db/backfills/set-breakout.json: set.done must be one SQL expression: a "," outside parentheses ends it',
    );
  });
});

describe("the backfill's connection to the target is cut mid-run", () => {
  // What a DBA's pg_terminate_backend or a target restart does to the runner's session.
  const cases = [
    {
      // Many cheap batches: between two of them the runner's session is idle most of the time (the
      // runner is storing its cursor). 500 batches: about 2 s alone, several times that on a loaded
      // CI machine, so the end is waited for generously.
      when: "between two batches: it reconnects and goes on from its cursor",
      backfill: "quick-items",
      rows: 5000,
      session: "state = 'idle'",
    },
    {
      // The batch's own UPDATE is what the server ends: the driver must fail it, not take the worker
      // down with it (postgres.js 3.4.9 did, without patches/postgres+3.4.9.patch).
      when: "in the middle of a batch: the batch is retried",
      backfill: "slow-items",
      rows: 200,
      session: "state = 'active' and query like '%pg_sleep%'",
    },
  ];
  for (const { when, backfill, rows, session } of cases) it(`${when}, and every row is changed once`, async () => {
    await target.unsafe(`TRUNCATE public.bf_items; INSERT INTO public.bf_items (id, value) SELECT g, g FROM generate_series(1, ${rows}) g`);
    const engineer = await c.actor(EMAIL.engineer);
    const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "backfill", backfill });
    await enqueueDeployment(c.deps, engineer, { id: created.id });
    worker ??= await startDeploymentWorker(c.boss, c.deps);
    const progress = async () => (await c.store.db.select().from(backfillProgress).where(eq(backfillProgress.deploymentId, created.id)))[0] ?? null;
    await waitFor("a batch", progress, (p) => (p?.batches ?? 0) >= 1);
    await waitFor(
      `the runner's session cut where ${session}`,
      async () => (await target.unsafe<{ n: number }[]>(`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = $1 and ${session}`, [`migration-console backfill ${backfill}`]))[0]!.n,
      (n) => n === 1,
      30_000,
      5,
    );
    expect((await progress())?.rowsDone ?? 0, "the cut came before the backfill ended").toBeLessThan(rows);
    const state = async () => (await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, created.id)))[0]!.state;
    const ended = await waitFor("the backfill to end", state, (s) => s !== "running", 90_000);
    expect(ended, JSON.stringify(await c.store.db.select({ error: runs.error }).from(runs).where(eq(runs.deploymentId, created.id)))).toBe("succeeded");
    expect(await target`select done, touched, count(*)::int as rows from public.bf_items group by 1, 2`).toEqual([{ done: true, touched: 1, rows }]);
  }, 150_000);
});
