/**
 * `npm run bench:apply`: the executor against psql on the same work. Both apply the whole db/migrations
 * history to an empty database on a local embedded PostgreSQL: transactional files in one transaction
 * each, the CONCURRENTLY file statement by statement in autocommit, the same ledger rows, the same apply
 * lock. Rounds alternate which goes first; the medians and their ratio are printed. Target: ≤ 1.10.
 *
 * Environment: BENCH_ROUNDS (default 25: on a shared machine single runs swing by ±30 %, and 15 rounds still moved the ratio by ±0.06 between runs), BENCH_PG_PORT (54350), PSQL (default: the newest
 * /usr/lib/postgresql/N/bin/psql, else /usr/bin/psql).
 * Parsing the files (lib/migrations) happens once, before timing: it is plan-time work, not apply work.
 *
 * Fairness: the executor runs in process, psql is a process of its own. Debian's /usr/bin/psql is
 * pg_wrapper, a Perl script that starts before psql does (tens of ms idle, hundreds under load), so the
 * real binary is used; and what starting psql costs (`psql --version`, measured beside every round) is
 * taken off its time for the ratio, which then compares the work only. The raw ratio is printed too.
 * So is what PostgreSQL itself spent executing each side's statements (pg_stat_statements): when the
 * two are close, what separates the ratio from 1 is the client's side (round trips, bookkeeping).
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { loadCatalog, type Catalog, type Migration } from "../lib/migrations";
import { startLocalPostgres } from "../lib/embedded/postgres-server";
import { applyMigrations, transactionBatches, type RunEvent } from "../lib/executor";
import { ENSURE_LEDGER_SQL } from "../lib/ledger";
import { schemaFingerprint, snapshotSchema } from "../lib/introspect/schema-snapshot";

const ROOT = path.resolve(__dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 25);
const PORT = Number(process.env.BENCH_PG_PORT ?? 54350);
const PSQL = process.env.PSQL ?? realPsql();

/** The psql binary itself, not Debian's pg_wrapper script in front of it. */
function realPsql(): string {
  const base = "/usr/lib/postgresql";
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, "bin/psql"))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? path.join(base, newest, "bin/psql") : "/usr/bin/psql";
}
const TARGET_RATIO = 1.1;
/** The executor's apply lock, taken by the psql script too so both do the same work. */
const APPLY_LOCK = "736120, 1";

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** What the executor sends, as one psql script: same statements, same transaction boundaries, same ledger rows. */
function psqlScript(catalog: Catalog): string {
  const out = [`\\set ON_ERROR_STOP on`, `SELECT pg_try_advisory_lock(${APPLY_LOCK});`, `SET lock_timeout = 2000;`];
  out.push(...ENSURE_LEDGER_SQL.map((s) => `${s};`));
  for (const m of catalog.migrations) {
    const parts = transactionBatches(m.statements);
    parts.forEach((part, i) => {
      const ledger = i === parts.length - 1 ? ledgerInserts(m) : [];
      if (part.transactional) out.push("BEGIN;", ...part.statements.map((s) => `${s.sql};`), ...ledger, "COMMIT;");
      else out.push(`${part.statements[0]!.sql};`, ...(ledger.length ? ["BEGIN;", ...ledger, "COMMIT;"] : []));
    });
  }
  return out.join("\n") + "\n";
}

function ledgerInserts(m: Migration): string[] {
  return [
    `INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${literal(m.checksum)}, ${m.when});`,
    `INSERT INTO migration_console.history (tag, hash, created_at, direction, run_id, actor, started_at, duration_ms) VALUES (${literal(m.tag)}, ${literal(m.checksum)}, ${m.when}, 'up', 'bench', 'bench', now(), 0);`,
  ];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

interface Breakdown {
  /** Connect, lock, session settings, ledger tables, status read: until run_started. */
  setup: number;
  /** Sum of statement_finished durations: the migration SQL itself. */
  statements: number;
  /** Everything else: transactions, ledger rows, index checks, the final status read, disconnect. */
  rest: number;
}

async function main(): Promise<void> {
  const server = await startLocalPostgres({ dataDir: path.join(ROOT, ".data/bench"), port: PORT, log: (l) => console.log(l) });
  const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
  const catalog = await loadCatalog(path.join(ROOT, "db/migrations"));
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mc-bench-")), "apply.sql");
  fs.writeFileSync(script, psqlScript(catalog));
  const url = new URL(server.url());

  // What PostgreSQL itself spent executing each run's statements (pg_stat_statements, loaded by the
  // embedded server): equal for both when they send the same work, so the ratio's gap is the client's.
  await admin.unsafe(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
  const serverMs = async (name: string): Promise<number> => {
    const [row] = await admin<{ ms: number | null }[]>`
      select sum(s.total_exec_time)::float8 as ms from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = ${name}`;
    return row?.ms ?? 0;
  };
  const withDatabase = async <T>(work: (name: string) => Promise<T>, spent?: number[]): Promise<T> => {
    const name = `bench_${randomUUID().slice(0, 8)}`;
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    try {
      const value = await work(name);
      spent?.push(await serverMs(name));
      return value;
    } finally {
      await admin.unsafe(`DROP DATABASE "${name}" WITH (FORCE)`);
    }
  };

  const viaExecutor = (name: string) => async (): Promise<{ ms: number; breakdown: Breakdown }> => {
    const events: (RunEvent & { at: Date })[] = [];
    const t0 = performance.now();
    let setupAt = 0;
    await applyMigrations({
      url: server.url(name),
      catalog,
      actor: "bench",
      onEvent: (e) => {
        if (e.type === "run_started") setupAt = performance.now();
        events.push(e);
      },
    });
    const total = performance.now() - t0;
    const statements = events.reduce((n, e) => n + (e.type === "statement_finished" ? e.durationMs : 0), 0);
    return { ms: total, breakdown: { setup: setupAt - t0, statements, rest: total - (setupAt - t0) - statements } };
  };

  const viaPsql = (name: string) => async (): Promise<{ ms: number }> => {
    const t0 = performance.now();
    const res = spawnSync(PSQL, ["-X", "-q", "-h", url.hostname, "-p", url.port, "-U", decodeURIComponent(url.username), "-d", name, "-f", script], {
      env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password), PGAPPNAME: "bench psql" },
      encoding: "utf8",
    });
    const elapsed = performance.now() - t0;
    if (res.status !== 0) throw new Error(`psql failed (exit ${res.status}): ${res.stderr || res.error?.message}`);
    return { ms: elapsed };
  };
  /** Starting psql and nothing else: its process start, which the in-process executor does not pay. */
  const psqlStart = (): number => {
    const t0 = performance.now();
    const res = spawnSync(PSQL, ["--version"], { encoding: "utf8" });
    if (res.status !== 0) throw new Error(`psql --version failed (exit ${res.status}): ${res.stderr || res.error?.message}`);
    return performance.now() - t0;
  };

  try {
    const [{ version } = { version: "?" }] = await admin<{ version: string }[]>`select current_setting('server_version') as version`;
    const statementCount = catalog.migrations.reduce((n, m) => n + m.statements.length, 0);
    console.log(`bench:apply: PostgreSQL ${version} on port ${PORT}; ${catalog.migrations.length} migrations, ${statementCount} statements; ${ROUNDS} rounds + 1 warm-up`);

    // Warm-up, and proof that both do the same work: identical schemas and ledgers afterwards.
    const fingerprints: string[] = [];
    for (const how of [viaExecutor, viaPsql]) {
      fingerprints.push(
        await withDatabase(async (name) => {
          await how(name)();
          const sql = postgres(server.url(name), { max: 1, onnotice: () => {} });
          try {
            const ledger = await sql`select hash, created_at from drizzle.__drizzle_migrations order by id`;
            return `${schemaFingerprint(await snapshotSchema(sql))}/${JSON.stringify(ledger)}`;
          } finally {
            await sql.end();
          }
        }),
      );
    }
    if (fingerprints[0] !== fingerprints[1]) throw new Error("executor and psql left different schemas or ledgers: the comparison is not fair");

    const executorMs: number[] = [];
    const psqlMs: number[] = [];
    /** psql's time in the same round without its process start (psql --version, measured just before). */
    const psqlWorkMs: number[] = [];
    /** Each round's executor/psql, measured back to back: steadier than the ratio of medians when the machine's load drifts. */
    const paired: number[] = [];
    const breakdowns: Breakdown[] = [];
    const executorServerMs: number[] = [];
    const psqlServerMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const runExecutor = () =>
        withDatabase(async (name) => {
          const r = await viaExecutor(name)();
          executorMs.push(r.ms);
          breakdowns.push(r.breakdown);
        }, executorServerMs);
      const runPsql = () =>
        withDatabase(async (name) => {
          const start = psqlStart();
          const total = (await viaPsql(name)()).ms;
          psqlMs.push(total);
          psqlWorkMs.push(total - start);
        }, psqlServerMs);
      if (round % 2 === 0) {
        await runExecutor();
        await runPsql();
      } else {
        await runPsql();
        await runExecutor();
      }
      paired.push(executorMs.at(-1)! / psqlWorkMs.at(-1)!);
    }

    const e = median(executorMs);
    const p = median(psqlWorkMs);
    const ratio = e / p;
    console.log(`executor  median ${ms(e)}  (min ${ms(Math.min(...executorMs))}, max ${ms(Math.max(...executorMs))})`);
    console.log(
      `psql      median ${ms(p)}  (min ${ms(Math.min(...psqlWorkMs))}, max ${ms(Math.max(...psqlWorkMs))}) without starting psql; ${ms(median(psqlMs))} with it (${PSQL})`,
    );
    console.log(
      `executor time, medians: setup ${ms(median(breakdowns.map((b) => b.setup)))}, statements ${ms(median(breakdowns.map((b) => b.statements)))}, the rest ${ms(median(breakdowns.map((b) => b.rest)))}`,
    );
    console.log(
      `ratio executor/psql ${ratio.toFixed(3)} (target ≤ ${TARGET_RATIO}): ${ratio <= TARGET_RATIO ? "within target" : "ABOVE TARGET"}; counting psql's process start: ${(e / median(psqlMs)).toFixed(3)}`,
    );
    console.log(
      `PostgreSQL's own execution time (pg_stat_statements), medians: executor ${ms(median(executorServerMs))}, psql ${ms(median(psqlServerMs))}; outside it: executor ${ms(e - median(executorServerMs))}, psql ${ms(p - median(psqlServerMs))}`,
    );
    console.log(`median of per-round ratios ${median(paired).toFixed(3)}; machine load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores`);
  } finally {
    await admin.end();
    fs.rmSync(path.dirname(script), { recursive: true, force: true });
    if (!server.reused) await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
