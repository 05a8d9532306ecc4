/**
 * `npm run bench:verify`: how verification time grows with the size of the catalog. Two databases on a
 * local embedded PostgreSQL, both migrated with the real history and seeded, plus N synthetic tenant
 * tables in public (a schema the checks scan), each with RLS enabled and forced, the four tenant policies
 * and four indexes: N = 200 and N = 2,000. Rounds alternate between the two databases so that a drift in
 * the machine's load hits both alike; the medians, the query counts and t(2000)/t(200) are printed.
 * Targets: ≤ 250 ms at 2,000 tables, and ≤ 3 × the 200-table time.
 *
 * Environment: BENCH_ROUNDS (default 9), BENCH_PG_PORT (54351), BENCH_POOL (connections, default 4).
 */
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { seedDemoData } from "../db/seed/demo";
import { loadCatalog } from "../lib/migrations";
import { startLocalPostgres } from "../lib/embedded/postgres-server";
import { applyMigrations } from "../lib/executor";
import { runVerification, type VerificationReport } from "../lib/verify";

const ROOT = path.resolve(__dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const PORT = Number(process.env.BENCH_PG_PORT ?? 54351);
const POOL = Number(process.env.BENCH_POOL ?? 4);
const SIZES = [200, 2000] as const;
const TARGET_MS = 250;
const TARGET_RATIO = 3;
const quiet = { onnotice: () => {} };

/** N tenant tables like the real ones, built server-side in one DO block. */
function syntheticTables(from: number, to: number): string {
  return `DO $bench$
DECLARE t text; p text := 'clinic_id = NULLIF(current_setting(''app.current_clinic_id'', true), '''')::uuid';
BEGIN
  FOR i IN ${from}..${to} LOOP
    t := format('synthetic_%s', lpad(i::text, 5, '0'));
    EXECUTE format('CREATE TABLE public.%I (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), clinic_id uuid NOT NULL,
      name text, payload jsonb, created_at timestamptz NOT NULL DEFAULT now())', t);
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO app_user USING (%s)', t || '_tenant_select', t, p);
    EXECUTE format('CREATE POLICY %I ON public.%I FOR INSERT TO app_user WITH CHECK (%s)', t || '_tenant_insert', t, p);
    EXECUTE format('CREATE POLICY %I ON public.%I FOR UPDATE TO app_user USING (%s) WITH CHECK (%s)', t || '_tenant_update', t, p, p);
    EXECUTE format('CREATE POLICY %I ON public.%I FOR DELETE TO app_user USING (%s)', t || '_tenant_delete', t, p);
    EXECUTE format('CREATE INDEX %I ON public.%I (clinic_id)', t || '_clinic_idx', t);
    EXECUTE format('CREATE INDEX %I ON public.%I (clinic_id, created_at)', t || '_clinic_created_idx', t);
    EXECUTE format('CREATE INDEX %I ON public.%I (created_at)', t || '_created_idx', t);
    EXECUTE format('CREATE INDEX %I ON public.%I (name)', t || '_name_idx', t);
  END LOOP;
END
$bench$`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const server = await startLocalPostgres({ dataDir: path.join(ROOT, ".data/bench-verify"), port: PORT, log: (l) => console.log(l) });
  const admin = postgres(server.url(), { max: 1, ...quiet });
  const names = SIZES.map((n) => `bench_verify_${n}`);
  const clients: postgres.Sql[] = [];
  try {
    const [{ version } = { version: "?" }] = await admin<{ version: string }[]>`select current_setting('server_version') as version`;
    console.log(`bench:verify: PostgreSQL ${version} on port ${PORT}; ${ROUNDS} rounds + 2 warm-ups per size; pool of ${POOL}`);

    const build = performance.now();
    for (const name of names) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE "${names[0]}"`);
    await applyMigrations({ url: server.url(names[0]), catalog: await loadCatalog(path.join(ROOT, "db/migrations")), actor: "bench" });
    const first = postgres(server.url(names[0]), { max: 1, ...quiet });
    await seedDemoData(first);
    await first.unsafe(syntheticTables(1, SIZES[0]));
    await first.end();
    // The larger catalog is the smaller one plus the rest of the tables.
    await admin.unsafe(`CREATE DATABASE "${names[1]}" TEMPLATE "${names[0]}"`);
    const second = postgres(server.url(names[1]), { max: 1, ...quiet });
    await second.unsafe(syntheticTables(SIZES[0] + 1, SIZES[1]));
    await second.unsafe("ANALYZE");
    await second.end();
    console.log(`built both databases in ${ms(performance.now() - build)}`);

    for (const name of names) clients.push(postgres(server.url(name), { max: POOL, ...quiet }));
    const reports: VerificationReport[][] = SIZES.map(() => []);
    for (let round = -2; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const report = await runVerification(clients[i]!);
        if (round >= 0) reports[i]!.push(report);
      }
    }

    const rows = SIZES.map((n, i) => {
      const rs = reports[i]!;
      const last = rs.at(-1)!;
      const bad = last.results.filter((r) => r.status === "fail" || r.status === "error");
      return {
        n,
        total: median(rs.map((r) => r.durationMs)),
        catalog: median(rs.map((r) => r.catalog.durationMs)),
        probe: median(rs.map((r) => r.results.find((x) => x.checkId === "isolation.behavioural")!.durationMs)),
        min: Math.min(...rs.map((r) => r.durationMs)),
        max: Math.max(...rs.map((r) => r.durationMs)),
        queries: [...new Set(rs.map((r) => r.queryCount))],
        bad,
      };
    });
    for (const r of rows) {
      console.log(
        `${String(r.n).padStart(5)} extra tables: median ${ms(r.total)} (min ${ms(r.min)}, max ${ms(r.max)}); catalog read ${ms(r.catalog)}, isolation probe ${ms(r.probe)}; queries ${r.queries.join("/")}`,
      );
      for (const b of r.bad) console.log(`      ${b.status} ${b.checkId}: ${b.summary}`);
    }
    const [small, large] = rows as [(typeof rows)[number], (typeof rows)[number]];
    const ratio = large.total / small.total;
    console.log(`t(${large.n})/t(${small.n}) = ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}): ${ratio <= TARGET_RATIO ? "within target" : "ABOVE TARGET"}`);
    console.log(`t(${large.n}) = ${ms(large.total)} (target ≤ ${TARGET_MS} ms): ${large.total <= TARGET_MS ? "within target" : "ABOVE TARGET"}`);
    console.log(`queries: ${small.queries.join("/")} at ${small.n}, ${large.queries.join("/")} at ${large.n}; machine load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores`);
    if (small.bad.length || large.bad.length) throw new Error("verification is not green on the bench databases: the timings measure the wrong thing");
  } finally {
    await Promise.all(clients.map((c) => c.end()));
    for (const name of names) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
    if (!server.reused) await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
