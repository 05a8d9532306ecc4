/**
 * `npm run bench:plan`: how long a deployment's plan takes (ledger read, lint, rehearsal on a shadow
 * database, schema diffs, hash) against simply applying the same migrations with the executor on a
 * fresh database at the same version, measured in the same run on a local embedded PostgreSQL.
 *
 * Scenarios: the whole history on an empty target; one pending migration on a migrated target
 * (target at 0007 with 0008 pending, and at 0006 with 0007 pending). Target: ≤ 150 ms for one pending
 * migration. Each scenario: one warm-up plan (printed as "first": it also builds the shadow server's
 * template for that version unless an earlier run left it, see lib/plan/shadow.ts), then BENCH_ROUNDS
 * rounds alternating plan and baseline; medians, the plan's two branches (basis = ledger, target
 * snapshot and lint; rehearsal = shadow database, rehearsed apply, schema read after it: both start once
 * the ledger is read and run side by side) and the ratio plan/baseline are printed. The time to copy a
 * database is printed for scale: a rehearsal without a spare copy cannot cost less than one copy plus
 * the apply. A plan leaves work to the shadow server (dropping its database, copying the next spare):
 * the bench waits for it after each plan, so it slows neither the baseline nor the next plan.
 *
 * Like the console, the bench keeps the plan's connection to its target between plans (closed after
 * 10 s unused): the first plan of a scenario connects, the rounds after it reuse the connection.
 *
 * Rehearsals run on a second local cluster (BENCH_PG_PORT + 1), as they must: the plan refuses a shadow
 * server on its target's cluster.
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_PG_PORT (54352).
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { loadCatalog, type Catalog } from "../lib/migrations";
import { startLocalPostgres } from "../lib/embedded/postgres-server";
import { applyMigrations } from "../lib/executor";
import { computePlan, type Plan } from "../lib/plan/plan";
import { closeShadowConnections, shadowBackgroundWork } from "../lib/plan/shadow";
import { closeKeptConnections } from "../lib/connection/connect";

const ROOT = path.resolve(__dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const PORT = Number(process.env.BENCH_PG_PORT ?? 54352);
const SINGLE_PENDING_TARGET_MS = 150;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

interface Scenario {
  name: string;
  /** The target's version before the plan (null: empty database). */
  at: string | null;
  /** Apply up to this tag. */
  to: string;
  singlePending: boolean;
}

async function main(): Promise<void> {
  const [server, shadowServer] = await Promise.all([
    startLocalPostgres({ dataDir: path.join(ROOT, ".data/bench-plan"), port: PORT, log: (l) => console.log(l) }),
    startLocalPostgres({ dataDir: path.join(ROOT, ".data/bench-plan-shadow"), port: PORT + 1, log: (l) => console.log(l), portVariable: "BENCH_PG_PORT (+1)" }),
  ]);
  const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
  const catalog = await loadCatalog(path.join(ROOT, "db/migrations"));
  const latest = catalog.latest!.tag;
  const tagAt = (idx: number) => catalog.migrations[idx]!.tag;
  const scenarios: Scenario[] = [
    { name: `full history (${catalog.migrations.length} migrations) on an empty target`, at: null, to: latest, singlePending: false },
    { name: `target at ${tagAt(7)}, ${tagAt(8)} pending`, at: tagAt(7), to: tagAt(8), singlePending: true },
    { name: `target at ${tagAt(6)}, ${tagAt(7)} pending`, at: tagAt(6), to: tagAt(7), singlePending: true },
  ];
  const created: string[] = [];
  const newDatabase = async (template?: string) => {
    const name = `bench_${randomUUID().slice(0, 8)}`;
    await admin.unsafe(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`);
    created.push(name);
    return name;
  };
  const dropDatabase = async (name: string) => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    created.splice(created.indexOf(name), 1);
  };
  /** A database at `at`, built by the executor once; copies of it are the targets and the baseline's databases. */
  const databaseAt = async (at: string | null) => {
    const name = await newDatabase();
    if (at) await applyMigrations({ url: server.url(name), catalog, to: at, actor: "bench" });
    return name;
  };

  const planOnce = (catalogUsed: Catalog, target: string, to: string) =>
    computePlan({ environment: "bench", targetUrl: server.url(target), catalog: catalogUsed, kind: "apply", to }, { adminUrl: shadowServer.url() });
  const checkPlan = (plan: Plan, scenario: Scenario) => {
    const problems = [
      ...plan.blockers,
      plan.rehearsal.ok ? null : `rehearsal failed: ${plan.rehearsal.error}`,
      plan.drift.drifted ? `unexpected drift: ${plan.drift.explanation}` : null,
      plan.to === scenario.to ? null : `planned up to ${plan.to}, expected ${scenario.to}`,
    ].filter(Boolean);
    if (problems.length) throw new Error(`${scenario.name}: the plan is not what the bench measures: ${problems.join("; ")}`);
  };

  try {
    const [{ version } = { version: "?" }] = await admin<{ version: string }[]>`select current_setting('server_version') as version`;
    console.log(`bench:plan: PostgreSQL ${version} on port ${PORT}; ${ROUNDS} rounds + 1 warm-up per scenario; machine load ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores`);
    const verdicts: string[] = [];
    for (const scenario of scenarios) {
      const source = await databaseAt(scenario.at);
      const target = await newDatabase(source);
      const pending = catalog.migrations.filter((m) => m.idx > (scenario.at ? catalog.byTag(scenario.at)!.idx : -1) && m.idx <= catalog.byTag(scenario.to)!.idx);

      const first = await planOnce(catalog, target, scenario.to);
      checkPlan(first, scenario);
      await shadowBackgroundWork();
      const plans: Plan[] = [];
      const baselines: number[] = [];
      /** CREATE DATABASE ... TEMPLATE of a database at the target's version: the least a rehearsal costs. */
      const copies: number[] = [];
      const paired: number[] = [];
      const baseline = async () => {
        const c0 = performance.now();
        const db = await newDatabase(source);
        copies.push(performance.now() - c0);
        try {
          const t0 = performance.now();
          await applyMigrations({ url: server.url(db), catalog, to: scenario.to, actor: "bench" });
          baselines.push(performance.now() - t0);
        } finally {
          await dropDatabase(db);
        }
      };
      const plan = async () => {
        const p = await planOnce(catalog, target, scenario.to);
        checkPlan(p, scenario);
        plans.push(p);
        // The shadow database is dropped and the next spare copied after the plan returns: let that
        // finish before the next measurement, so it slows neither the baseline nor the next plan.
        await shadowBackgroundWork();
      };
      await baseline(); // warm-up of the baseline, not counted
      baselines.length = 0;
      copies.length = 0;
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          await plan();
          await baseline();
        } else {
          await baseline();
          await plan();
        }
        paired.push(plans.at(-1)!.timings.totalMs / baselines.at(-1)!);
      }

      const total = median(plans.map((p) => p.timings.totalMs));
      const base = median(baselines);
      const statements = pending.reduce((n, m) => n + m.statements.length, 0);
      console.log(`\n${scenario.name}: ${pending.length} migration(s), ${statements} statements`);
      console.log(`  plan      median ${ms(total)} (min ${ms(Math.min(...plans.map((p) => p.timings.totalMs)))}, max ${ms(Math.max(...plans.map((p) => p.timings.totalMs)))}); first plan of the run ${ms(first.timings.totalMs)}`);
      console.log(
        `            basis median ${ms(median(plans.map((p) => p.timings.basisMs)))} (from the start), rehearsal median ${ms(median(plans.map((p) => p.timings.rehearsalMs)))} (from the ledger read), side by side`,
      );
      console.log(`  baseline  median ${ms(base)} (executor applying the same migrations on a fresh copy of the target)`);
      console.log(`  for scale: copying a database at the target's version (CREATE DATABASE ... TEMPLATE) takes ${ms(median(copies))} on this server`);
      console.log(`  ratio plan/baseline ${(total / base).toFixed(2)} (median of per-round ratios ${median(paired).toFixed(2)})`);
      if (scenario.singlePending) {
        const ok = total <= SINGLE_PENDING_TARGET_MS;
        verdicts.push(`${scenario.name}: ${ms(total)} ${ok ? "within" : "ABOVE"} the ${ms(SINGLE_PENDING_TARGET_MS)} target`);
      }
      await dropDatabase(target);
      await dropDatabase(source);
    }
    console.log(`\n${verdicts.join("\n")}`);
  } finally {
    for (const name of [...created]) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await admin.end();
    await Promise.all([closeShadowConnections(), closeKeptConnections()]);
    await Promise.all([server, shadowServer].filter((s) => !s.reused).map((s) => s.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
