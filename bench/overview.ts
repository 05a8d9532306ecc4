/**
 * `npm run bench:overview`: the Overview's server time with 10 environments and 10,000 deployments
 * (each finished one with its run, log and approval, as in use) in the store, at 20 concurrent
 * requests. Each request does what the page and /api/overview do on the server for a signed-in
 * release manager: check the console session and its user (sessionActor, as app/_server/session
 * does; the next-auth cookie decode is not included), read every environment's recorded state, running and
 * last deployment and what waits on the role (lib/targets/overview, the page's loader), and
 * serialise the result. It also counts the store queries one request issues.
 * The baseline, measured in the same run at the same concurrency, is one `select 1` round trip on
 * the same pool (what any store read costs at least), so the numbers read on a loaded machine.
 * Target: p95 ≤ 100 ms. The last line is `p95 N ms`.
 *
 * Environment: BENCH_PG_PORT (54352), BENCH_REQUESTS (per client, default 25), BENCH_CONCURRENCY (20),
 * BENCH_STORE_CONNECTIONS (the web server's pool, 10).
 */
import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { ensureDemoUsers } from "../lib/auth/demo-users";
import { assertPermission, sessionActor } from "../lib/auth/guard";
import { startConsoleSession } from "../lib/auth/sessions";
import { WEB_STORE_CONNECTIONS } from "../lib/boot";
import { parseEnvironmentRegistry } from "../lib/config/environments";
import { startLocalPostgres } from "../lib/embedded/postgres-server";
import { migrateStore } from "../lib/store/migrate";
import { openStore } from "../lib/store/db";
import { users } from "../lib/store/schema";
import { syncEnvironments } from "../lib/targets/registry-sync";
import { environmentsOverview } from "../lib/targets/overview";

const ROOT = path.resolve(__dirname, "..");
const PORT = Number(process.env.BENCH_PG_PORT ?? 54352);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 25);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const STORE_CONNECTIONS = Number(process.env.BENCH_STORE_CONNECTIONS ?? WEB_STORE_CONNECTIONS);
const SESSIONS = { maxAgeSeconds: 8 * 3600, idleSeconds: 30 * 60 };
const ENVIRONMENTS = 10;
const DEPLOYMENTS = 10_000;
const TARGET_P95_MS = 100;
const quiet = { onnotice: () => {} };

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

async function timed(concurrency: number, perClient: number, work: (client: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      for (let i = 0; i < perClient; i++) {
        const t0 = performance.now();
        await work(client);
        times.push(performance.now() - t0);
      }
    }),
  );
  return times;
}

/** CPU time (ms) the given processes used so far, from /proc (Linux); null where that cannot be read. */
function processCpuMs(pids: number[]): number | null {
  try {
    const ticks = pids.reduce((sum, pid) => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return sum + Number(fields[11]) + Number(fields[12]);
    }, 0);
    return ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

async function seed(sql: postgres.Sql): Promise<void> {
  // Plans as large as real ones (the migrations' SQL is in them), so reading one costs what it does in use.
  await sql.unsafe(`
    WITH envs AS (SELECT id, row_number() OVER (ORDER BY position) - 1 AS n FROM environments),
         author AS (SELECT id FROM users WHERE email = 'engineer@demo.local')
    INSERT INTO deployments (environment_id, kind, target_tag, state, created_by, plan, plan_hash, created_at, updated_at)
    SELECT e.id, 'apply', '0008_performance_indexes',
      (CASE WHEN g % 50 = 0 THEN 'failed' WHEN g % 97 = 0 THEN 'rejected' ELSE 'succeeded' END)::deployment_state,
      (SELECT id FROM author),
      jsonb_build_object('from', '0006_appointment_overlap', 'to', '0008_performance_indexes', 'requiresComplianceSignoff', g % 3 = 0,
        'blockers', '[]'::jsonb, 'rehearsal', jsonb_build_object('ok', true), 'findings', '[]'::jsonb,
        'migrations', jsonb_build_array(jsonb_build_object('tag', '0007_row_level_security', 'sql', repeat('ALTER TABLE x ENABLE ROW LEVEL SECURITY; ', 80)),
                                        jsonb_build_object('tag', '0008_performance_indexes', 'sql', repeat('CREATE INDEX CONCURRENTLY y ON z (c); ', 60)))),
      md5(g::text), now() - make_interval(mins => ${DEPLOYMENTS} - g), now() - make_interval(mins => ${DEPLOYMENTS} - g)
    FROM generate_series(1, ${DEPLOYMENTS} - ${ENVIRONMENTS * 3}) g JOIN envs e ON e.n = g % ${ENVIRONMENTS};

    -- Every finished deployment has its run, its log and its approval: the tables the Overview must not scan.
    INSERT INTO runs (deployment_id, state, worker, started_at, finished_at)
    SELECT id, state::text, 'bench', created_at, created_at + interval '40 seconds' FROM deployments WHERE state IN ('succeeded', 'failed');
    INSERT INTO run_events (run_id, at, type, payload)
    SELECT r.id, r.started_at + make_interval(secs => g), CASE WHEN g = 1 THEN 'run_started' WHEN g = 20 THEN 'run_finished' ELSE 'statement_finished' END,
      CASE WHEN g = 1 THEN jsonb_build_object('statements', 18) ELSE jsonb_build_object('done', g - 1, 'of', 18, 'summary', 'CREATE INDEX CONCURRENTLY …') END
    FROM runs r CROSS JOIN generate_series(1, 20) g;
    INSERT INTO approvals (deployment_id, user_id, kind, plan_hash, plan_revision)
    SELECT d.id, (SELECT id FROM users WHERE email = 'release2@demo.local'), 'release_approval', d.plan_hash, d.plan_revision FROM deployments d;

    -- Per environment: one running (with a run and its log), two awaiting review.
    INSERT INTO deployments (environment_id, kind, target_tag, state, created_by, plan, plan_hash)
    SELECT e.id, 'apply', '0008_performance_indexes', s.state::deployment_state, (SELECT id FROM users WHERE email = 'engineer@demo.local'),
      jsonb_build_object('from', '0006_appointment_overlap', 'to', '0008_performance_indexes', 'requiresComplianceSignoff', true,
        'blockers', '[]'::jsonb, 'rehearsal', jsonb_build_object('ok', true), 'findings', '[]'::jsonb,
        'migrations', jsonb_build_array(jsonb_build_object('tag', '0007_row_level_security'), jsonb_build_object('tag', '0008_performance_indexes'))),
      md5(e.id::text || s.state || s.k)
    FROM environments e CROSS JOIN (VALUES ('running', 1), ('awaiting_approval', 2), ('awaiting_approval', 3)) AS s(state, k);

    INSERT INTO runs (deployment_id, state, worker) SELECT id, 'running', 'bench' FROM deployments WHERE state = 'running';
    INSERT INTO run_events (run_id, at, type, payload)
    SELECT r.id, now(), CASE WHEN g = 1 THEN 'run_started' ELSE 'statement_finished' END,
      CASE WHEN g = 1 THEN jsonb_build_object('statements', 70) ELSE jsonb_build_object('done', g - 1, 'of', 70, 'summary', 'CREATE POLICY …') END
    FROM runs r CROSS JOIN generate_series(1, 40) g WHERE r.state = 'running';
    INSERT INTO approvals (deployment_id, user_id, kind, plan_hash, plan_revision)
    SELECT d.id, (SELECT id FROM users WHERE email = 'release2@demo.local'), 'release_approval', d.plan_hash, d.plan_revision FROM deployments d WHERE d.state = 'awaiting_approval';

    INSERT INTO environment_status (environment_id, current_version, pending_count, pending, reachable, server_version, verification_outcome, verification_at, failing_groups, drift)
    SELECT id, '0006_appointment_overlap', 2, '["0007_row_level_security","0008_performance_indexes"]', true, '18.4', 'failed', now(), '["rls-enabled-forced"]',
      jsonb_build_object('drifted', true, 'unchecked', null, 'checkedAt', now()::text, 'objects', jsonb_build_array(jsonb_build_object('object', 'table public.patients', 'change', 'changed', 'fields', jsonb_build_array('rlsEnabled'), 'group', 'rls-enabled-forced')))
    FROM environments;
    ANALYZE;`);
}

async function main(): Promise<void> {
  const server = await startLocalPostgres({ dataDir: path.join(ROOT, ".data/bench-overview"), port: PORT, log: (l) => console.log(l) });
  const admin = postgres(server.url(), { max: 1, ...quiet });
  const name = "bench_overview";
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = server.url(name);
    await migrateStore(url, path.join(ROOT, "lib/store/migrations"));
    const registry = parseEnvironmentRegistry(
      { environments: Array.from({ length: ENVIRONMENTS }, (_, i) => ({ name: `env-${i}`, label: `Environment ${i}`, urlEnv: `BENCH_TARGET_${i}_URL`, gates: { releaseManagerApprovals: i % 3 } })) },
      {},
    );
    // Counts what one request sends (postgres.js's debug hook sees every statement; array types are fetched once per connection).
    let statements = 0;
    const store = openStore(url, { max: STORE_CONNECTIONS, debug: (_connection, query) => void (query.includes("pg_catalog.pg_type") || statements++) });
    try {
      await syncEnvironments(store.db, registry);
      await ensureDemoUsers(store.db);
      const seeding = postgres(url, { max: 1, ...quiet });
      await seed(seeding);
      await seeding.end();
      const [releaseManager] = await store.db.select().from(users).where(eq(users.email, "release@demo.local"));
      // Every client is a person signed in with a console session of their own.
      const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, () => startConsoleSession(store.db, releaseManager!.id, SESSIONS, "bench")));
      const [{ count } = { count: 0 }] = await store.sql<{ count: number }[]>`select count(*)::int as count from deployments`;
      const [{ events } = { events: 0 }] = await store.sql<{ events: number }[]>`select count(*)::int as events from run_events`;
      console.log(`Store: ${ENVIRONMENTS} environments, ${count} deployments, ${events} run events; ${CONCURRENCY} concurrent clients × ${REQUESTS} requests each, ${STORE_CONNECTIONS} store connections.`);

      // What the page and GET /api/overview do on the server once next-auth has read the cookie.
      const request = async (client = 0) => {
        const actor = await sessionActor(store.db, { sessionId: sessions[client % sessions.length], userId: releaseManager!.id }, SESSIONS);
        assertPermission(actor, "overview:read");
        return JSON.stringify({ ok: true, data: await environmentsOverview(store.db, registry, actor) });
      };
      await request(); // connects
      statements = 0;
      const sample = (JSON.parse(await request()) as { data: { awaitingMe: unknown[]; running: unknown }[] }).data;
      const perRequest = statements;
      if (sample.length !== ENVIRONMENTS || !sample.every((e) => e.running) || sample.every((e) => e.awaitingMe.length === 0)) throw new Error("The Overview did not read what was seeded.");
      console.log(`store statements per request: ${perRequest} (the session with its user, then the Overview)`);
      await timed(CONCURRENCY, 3, request); // warm-up: plans cached, pool filled

      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < 50; i++) await request(i);
      const cpu = process.cpuUsage(cpu0);
      console.log(`one request at a time: ${((performance.now() - t0) / 50).toFixed(1)} ms wall, ${((cpu.user + cpu.system) / 1000 / 50).toFixed(1)} ms of this process's CPU`);
      const baseline = await timed(CONCURRENCY, REQUESTS, () => store.sql`select 1`);
      // The CPU one request costs (this process and the store's server processes serving the pool):
      // what bounds the p95 on an idle machine (20 requests at once share its cores).
      const backends = (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${name} and application_name = 'migration-console store'`).map((r) => r.pid);
      const [node0, pg0] = [process.cpuUsage(), processCpuMs(backends)];
      const overview = await timed(CONCURRENCY, REQUESTS, request);
      const [nodeCpu, pg1] = [process.cpuUsage(node0), processCpuMs(backends)];
      const perRequestCpu = (ms: number) => (ms / (CONCURRENCY * REQUESTS)).toFixed(1);
      console.log(
        `CPU per request under concurrency: ${perRequestCpu((nodeCpu.user + nodeCpu.system) / 1000)} ms in this process, ` +
          (pg0 === null || pg1 === null ? "store server n/a" : `${perRequestCpu(pg1 - pg0)} ms in ${backends.length} store server processes`),
      );
      const [b50, b95] = [percentile(baseline, 50), percentile(baseline, 95)];
      const [o50, o95] = [percentile(overview, 50), percentile(overview, 95)];
      console.log(`baseline (select 1, same pool, same concurrency): p50 ${b50.toFixed(1)} ms, p95 ${b95.toFixed(1)} ms`);
      console.log(`overview: p50 ${o50.toFixed(1)} ms, p95 ${o95.toFixed(1)} ms; ratio to baseline at p95 ${(o95 / b95).toFixed(1)}×`);
      console.log(o95 <= TARGET_P95_MS ? `Within the target (p95 ≤ ${TARGET_P95_MS} ms).` : `OVER the target (p95 ≤ ${TARGET_P95_MS} ms).`);
      console.log(`p95 ${Math.round(o95)} ms`);
    } finally {
      await store.close();
    }
    if (!process.env.BENCH_KEEP) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
    if (!server.reused && !process.env.BENCH_KEEP) await server.stop();
  }
}

main().catch((e) => {
  console.error(`bench:overview failed: ${(e as Error).message}`);
  process.exit(1);
});
