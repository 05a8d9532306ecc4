/**
 * `npm run bench:backfill`: the batched backfill against one `UPDATE` of the same 1,000,000 rows, each
 * under the same application write load, on a local embedded PostgreSQL. Three phases on fresh copies of
 * one table: the application alone (baseline), the single UPDATE, the backfill runner (the worker's own
 * code: batches tuned toward the target duration, the cursor written to a store database after every
 * batch). Prints the throughput of both, the application's write p99 in each phase, and ends with
 *   throughput ratio R   (backfill ÷ single UPDATE; target ≥ 0.7)
 *   p99 ratio R          (application p99 during the backfill ÷ baseline; target ≤ 2)
 *
 * The application: BENCH_APP_CLIENTS (default 2) connections, each updating one random row of the table
 * and inserting one row into an events table per transaction, BENCH_APP_PAUSE_MS (default 2) apart.
 * Environment: BENCH_ROWS (default 1000000), BENCH_PG_PORT (default 54352), BENCH_BASELINE_S (default 8).
 */
import path from "node:path";
import postgres from "postgres";
import { backfillFileSchema, batchTuningSchema, type BackfillDefinition } from "../lib/backfills/definition";
import { DEFAULT_PRESSURE_LIMITS } from "../lib/backfills/pressure";
import { runBatches } from "../lib/backfills/runner";
import { startLocalPostgres } from "../lib/embedded/postgres-server";

const ROOT = path.resolve(__dirname, "..");
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PORT = Number(process.env.BENCH_PG_PORT ?? 54352);
const APP_CLIENTS = Number(process.env.BENCH_APP_CLIENTS ?? 2);
const APP_PAUSE_MS = Number(process.env.BENCH_APP_PAUSE_MS ?? 2);
const BASELINE_S = Number(process.env.BENCH_BASELINE_S ?? 8);
const quiet = { onnotice: () => {} };

const TEMPLATE = "bench_backfill_tpl";
const STORE = "bench_backfill_store";

const SET = { value: "value * 2", migrated: "true" };
const PREDICATE = "NOT migrated";

const definitionFile = backfillFileSchema.parse({
  description: "bench: double every value once",
  table: "public.bench_rows",
  key: "id",
  requires: "0000_bench",
  set: SET,
  predicate: PREDICATE,
});
const definition: BackfillDefinition = { ...definitionFile, name: "bench", file: "bench.json", checksum: "bench", schema: "public", tableName: "bench_rows", batch: batchTuningSchema.parse({}) };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const f = (x: number, d = 1) => x.toFixed(d);

/** The application's writes, timed one by one until stopped. */
function applicationLoad(url: string) {
  let running = true;
  const latencies: number[] = [];
  const clients = Array.from({ length: APP_CLIENTS }, () => postgres(url, { max: 1, ...quiet }));
  const loops = clients.map(async (sql) => {
    while (running) {
      const id = 1 + Math.floor(Math.random() * ROWS);
      const started = performance.now();
      await sql.begin(async (tx) => {
        await tx`update public.bench_rows set touched_at = now() where id = ${id}`;
        await tx`insert into public.bench_events (row_id) values (${id})`;
      });
      latencies.push(performance.now() - started);
      await sleep(APP_PAUSE_MS);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.end()));
      return latencies;
    },
  };
}

async function main(): Promise<void> {
  const server = await startLocalPostgres({ dataDir: path.join(ROOT, ".data/bench-backfill"), port: PORT, log: (l) => console.log(l) });
  const admin = postgres(server.url(), { max: 1, ...quiet });
  const phases = ["bench_backfill_baseline", "bench_backfill_update", "bench_backfill_batched"];
  try {
    const [{ version } = { version: "?" }] = await admin<{ version: string }[]>`select current_setting('server_version') as version`;
    console.log(`bench:backfill: PostgreSQL ${version} on port ${PORT}; ${ROWS.toLocaleString("en-GB")} rows; application: ${APP_CLIENTS} clients, ${APP_PAUSE_MS} ms apart`);
    for (const name of [...phases, TEMPLATE, STORE]) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);

    const build = performance.now();
    await admin.unsafe(`CREATE DATABASE "${TEMPLATE}"`);
    const tpl = postgres(server.url(TEMPLATE), { max: 1, ...quiet });
    await tpl.unsafe(`
      CREATE TABLE public.bench_rows (id bigint PRIMARY KEY, account int NOT NULL, value int NOT NULL, migrated boolean NOT NULL DEFAULT false, touched_at timestamptz, payload text NOT NULL);
      INSERT INTO public.bench_rows (id, account, value, payload) SELECT g, g % 1000, g % 10007, md5(g::text) FROM generate_series(1, ${ROWS}) g;
      CREATE TABLE public.bench_events (id bigserial PRIMARY KEY, row_id bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());`);
    await tpl.unsafe("VACUUM ANALYZE public.bench_rows");
    await tpl.end();
    await admin.unsafe(`CREATE DATABASE "${STORE}"`);
    const store = postgres(server.url(STORE), { max: 1, ...quiet });
    await store.unsafe(`CREATE TABLE progress (id int PRIMARY KEY, cursor text, rows_done bigint NOT NULL, batch_size int NOT NULL); INSERT INTO progress VALUES (1, NULL, 0, 0);`);
    for (const name of phases) await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE}" STRATEGY FILE_COPY`);
    console.log(`built ${ROWS.toLocaleString("en-GB")} rows and three copies in ${f((performance.now() - build) / 1000)} s`);

    // 1. Baseline: the application alone.
    const baselineLoad = applicationLoad(server.url(phases[0]));
    await sleep(BASELINE_S * 1000);
    const baseline = await baselineLoad.stop();

    // 2. One UPDATE of every row, under the same load.
    const updateUrl = server.url(phases[1]);
    const updateLoad = applicationLoad(updateUrl);
    await sleep(500);
    const single = postgres(updateUrl, { max: 1, ...quiet });
    const updateStarted = performance.now();
    const updated = await single.unsafe(`UPDATE public.bench_rows SET value = value * 2, migrated = true WHERE ${PREDICATE}`);
    const updateS = (performance.now() - updateStarted) / 1000;
    const duringUpdate = await updateLoad.stop();
    await single.end();
    // Its million dead rows would keep autovacuum busy during the next phase.
    await admin.unsafe(`DROP DATABASE "${phases[1]}" WITH (FORCE)`);

    // 3. The backfill runner, under the same load, storing its cursor after every batch.
    const batchedUrl = server.url(phases[2]);
    const batchedLoad = applicationLoad(batchedUrl);
    await sleep(500);
    const target = postgres(batchedUrl, { max: 1, ...quiet, connection: { application_name: "migration-console backfill bench" } });
    let done = 0;
    let batches = 0;
    const sizes: number[] = [];
    const backfillStarted = performance.now();
    await runBatches({
      sql: target,
      definition,
      keyType: "bigint",
      tuning: definition.batch,
      limits: DEFAULT_PRESSURE_LIMITS,
      start: { cursor: null, batchSize: definition.batch.initialSize, rowsPerSecond: null },
      hooks: {
        control: async () => "run",
        saveBatch: async (b) => {
          done += b.changed;
          batches++;
          sizes.push(b.nextSize);
          await store`update progress set cursor = ${b.cursor}, rows_done = rows_done + ${b.changed}, batch_size = ${b.nextSize} where id = 1`;
        },
        pressure: async (p) => void (p && console.log(`  backfill yielded: ${p.reason}`)),
        retry: async (r) => console.log(`  batch retry ${r.attempt}: ${r.error}`),
      },
    });
    const backfillS = (performance.now() - backfillStarted) / 1000;
    const duringBackfill = await batchedLoad.stop();
    await target.end();
    await store.end();

    const updateRate = updated.count / updateS;
    const backfillRate = done / backfillS;
    const p99 = { baseline: percentile(baseline, 99), update: percentile(duringUpdate, 99), backfill: percentile(duringBackfill, 99) };
    console.log("");
    console.log(`single UPDATE: ${updated.count.toLocaleString("en-GB")} rows in ${f(updateS, 2)} s = ${Math.round(updateRate).toLocaleString("en-GB")} rows/s`);
    console.log(`backfill:      ${done.toLocaleString("en-GB")} rows in ${f(backfillS, 2)} s = ${Math.round(backfillRate).toLocaleString("en-GB")} rows/s (${batches} batches, size ${sizes[0]} → max ${Math.max(...sizes)}, last ${sizes.at(-1)})`);
    console.log(`application write p99: baseline ${f(p99.baseline)} ms (${baseline.length} writes), during the UPDATE ${f(p99.update)} ms (${duringUpdate.length}, max ${f(Math.max(...duringUpdate))}), during the backfill ${f(p99.backfill)} ms (${duringBackfill.length}, max ${f(Math.max(...duringBackfill))})`);
    console.log(`throughput ratio ${f(backfillRate / updateRate, 2)}`);
    console.log(`p99 ratio ${f(p99.backfill / p99.baseline, 2)}`);
  } finally {
    for (const name of [...phases, TEMPLATE, STORE]) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await admin.end();
    if (!server.reused) await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
