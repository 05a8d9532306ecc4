/**
 * Batch size steering: toward the size whose batch takes the target duration, growing on a cheap
 * table and shrinking when rows get expensive, within bounds. Simulated first, then on real PostgreSQL.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchTuningSchema, backfillFileSchema, type BackfillDefinition } from "../../lib/backfills/definition";
import { judgePressure, DEFAULT_PRESSURE_LIMITS } from "../../lib/backfills/pressure";
import { runBatches } from "../../lib/backfills/runner";
import { tuneBatchSize, type TunerState } from "../../lib/backfills/tuning";
import { freshDatabase, type TestDatabase } from "../support/databases";

const tuning = batchTuningSchema.parse({ targetMs: 200, initialSize: 100, minSize: 10, maxSize: 20_000 });

function simulate(state: TunerState, msPerRow: number, batches: number): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < batches; i++) {
    state = tuneBatchSize(tuning, state, { rows: state.size, ms: state.size * msPerRow });
    sizes.push(state.size);
  }
  Object.assign(simulated, state);
  return sizes;
}
const simulated: TunerState = { size: 0, msPerRow: null };

describe("the tuner", () => {
  it("grows a batch toward the target duration, at most doubling per step, and settles there", () => {
    const sizes = simulate({ size: 100, msPerRow: null }, 0.1, 12); // 0.1 ms a row: 2,000 rows take 200 ms
    expect(sizes.slice(0, 4)).toEqual([200, 400, 800, 1600]);
    expect(sizes.at(-1)).toBe(2000);
  });

  it("shrinks when rows become expensive, at most halving per step", () => {
    simulate({ size: 100, msPerRow: null }, 0.1, 12);
    const sizes = simulate({ ...simulated }, 2, 12); // now 2 ms a row: 100 rows take 200 ms
    expect(sizes[0]).toBeGreaterThanOrEqual(1000);
    expect(sizes.every((s, i) => i === 0 || s >= sizes[i - 1]! / 2)).toBe(true);
    expect(Math.abs(sizes.at(-1)! - 100)).toBeLessThanOrEqual(5);
  });

  it("stays within the declared bounds", () => {
    expect(simulate({ size: 100, msPerRow: null }, 0.0001, 30).at(-1)).toBe(20_000);
    expect(simulate({ size: 100, msPerRow: null }, 1000, 30).at(-1)).toBe(10);
  });
});

describe("the pressure decision", () => {
  const none = { long_transactions: null, lock_waits: null, replicas: null };
  it("pauses for a replica behind the limit, and names it", () => {
    expect(judgePressure({ ...none, replicas: [{ name: "replica-1", lag_ms: 15_000 }, { name: "replica-2", lag_ms: 100 }] }, "public.patients", DEFAULT_PRESSURE_LIMITS)).toEqual({
      kind: "replication_lag",
      reason: "Replica replica-1 is 15 s behind (limit 10 s); waiting for it to catch up.",
    });
    expect(judgePressure({ ...none, replicas: [{ name: "replica-1", lag_ms: 900 }] }, "public.patients", DEFAULT_PRESSURE_LIMITS)).toBeNull();
  });
  it("pauses for sessions waiting on locks, naming who blocks them", () => {
    expect(judgePressure({ ...none, lock_waits: [{ pid: 41, wait_ms: 3000, blocked_by: [40] }] }, "public.patients", DEFAULT_PRESSURE_LIMITS)?.reason).toBe(
      "A session has waited over 2.0 s for a lock (pid 41 behind pid 40); yielding to the application.",
    );
  });
});

describe("on real PostgreSQL", () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  beforeAll(async () => {
    db = await freshDatabase({ prefix: "bf_tuning" });
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`CREATE TABLE public.items (id int PRIMARY KEY, cost int NOT NULL, done boolean NOT NULL DEFAULT false);
      INSERT INTO public.items SELECT g, CASE WHEN g <= 3000 THEN 0 ELSE 1 END FROM generate_series(1, 5000) g;`);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("the runner's batches grow while rows are cheap and shrink where they get expensive", async () => {
    const file = backfillFileSchema.parse({
      description: "tuning test backfill",
      table: "public.items",
      key: "id",
      requires: "0000_x",
      // Rows past id 3000 cost 2 ms each: the batch size must come down to about 100 there.
      set: { done: "(SELECT true FROM pg_sleep(0.002 * cost))" },
      predicate: "NOT done",
    });
    const definition: BackfillDefinition = { ...file, name: "tuning", file: "tuning.json", checksum: "x", schema: "public", tableName: "items", batch: batchTuningSchema.parse({ targetMs: 200, initialSize: 50, minSize: 10, maxSize: 400 }) };
    const batches: { walked: number; cursor: string; ms: number }[] = [];
    const outcome = await runBatches({
      sql,
      definition,
      keyType: "integer",
      tuning: definition.batch,
      limits: { ...DEFAULT_PRESSURE_LIMITS, maxTransactionAgeMs: 3_600_000 },
      start: { cursor: null, batchSize: 50, rowsPerSecond: null },
      hooks: { control: async () => "run", saveBatch: async (b) => void batches.push(b), pressure: async () => {}, retry: async () => {} },
    });
    expect(outcome).toBe("done");
    const cheap = batches.filter((b) => Number(b.cursor) <= 3000);
    const dear = batches.filter((b) => Number(b.cursor) > 3000);
    expect(cheap.slice(0, 3).map((b) => b.walked)).toEqual([50, 100, 200]); // ×2 a step
    expect(Math.max(...cheap.map((b) => b.walked))).toBeGreaterThanOrEqual(300); // toward the 400 bound
    // The expensive tail settles near 100 rows (≈ 200 ms a batch; fewer when a busy machine stretches
    // every sleep), far below the 400 the cheap rows reached.
    expect(dear.length).toBeGreaterThanOrEqual(6);
    expect(dear.at(-2)!.walked).toBeLessThanOrEqual(170);
    expect(dear.at(-2)!.walked).toBeGreaterThanOrEqual(20);
    const [left] = await sql`select count(*)::int as n from public.items where not done`;
    expect(left!.n).toBe(0);
  }, 60_000);
});
