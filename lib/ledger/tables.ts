/**
 * Where a target records what is applied. `drizzle.__drizzle_migrations` is drizzle's own ledger,
 * kept byte-compatible so `drizzle-kit migrate` and the console agree; `migration_console.history`
 * is the console's append-only record of every apply and rollback (who, when, how long, which run).
 */
import type postgres from "postgres";

export const ENSURE_LEDGER_SQL = [
  `CREATE SCHEMA IF NOT EXISTS drizzle`,
  `CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
  `CREATE SCHEMA IF NOT EXISTS migration_console`,
  `CREATE TABLE IF NOT EXISTS migration_console.history (
     id bigserial PRIMARY KEY,
     tag text NOT NULL,
     hash text NOT NULL,
     created_at bigint NOT NULL,
     direction text NOT NULL CHECK (direction IN ('up', 'down')),
     run_id text NOT NULL,
     actor text NOT NULL,
     started_at timestamptz NOT NULL,
     finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     duration_ms integer NOT NULL
   )`,
  // A migration with non-transactional statements commits piece by piece: while it runs (and after it
  // was interrupted) this row says how far it got, so status can say "partially applied" and the next
  // apply can finish it. Removed in the transaction that records the migration as applied.
  `CREATE TABLE IF NOT EXISTS migration_console.progress (
     created_at bigint PRIMARY KEY,
     tag text NOT NULL,
     hash text NOT NULL,
     run_id text NOT NULL,
     statements_done integer NOT NULL,
     statements_total integer NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
];

/** Every ledger table exists after this, in one round trip (the statements are fixed text). */
export const ENSURE_LEDGER_SCRIPT = ENSURE_LEDGER_SQL.join(";\n");

/** Creates the ledger tables when missing. Idempotent; call under the target's apply lock. */
export async function ensureLedger(sql: postgres.Sql | postgres.TransactionSql): Promise<void> {
  await sql.unsafe(ENSURE_LEDGER_SCRIPT).simple();
}

export interface DrizzleLedgerRow {
  id: number;
  hash: string;
  createdAt: number;
}

export interface HistoryRow {
  tag: string;
  hash: string;
  createdAt: number;
  direction: "up" | "down";
  runId: string;
  actor: string;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
}

/** How far an unfinished non-transactional migration got (see migration_console.progress). */
export interface ProgressRow {
  tag: string;
  hash: string;
  createdAt: number;
  runId: string;
  statementsDone: number;
  statementsTotal: number;
  updatedAt: Date;
}

export interface Ledger {
  drizzle: DrizzleLedgerRow[];
  history: HistoryRow[];
  progress: ProgressRow[];
}

const SELECT_DRIZZLE = `select id, hash, created_at from drizzle.__drizzle_migrations order by id`;
const SELECT_HISTORY = `select tag, hash, created_at::float8 as "createdAt", direction, run_id as "runId", actor,
       started_at as "startedAt", finished_at as "finishedAt", duration_ms as "durationMs"
  from migration_console.history order by id`;
const SELECT_PROGRESS = `select tag, hash, created_at::float8 as "createdAt", run_id as "runId", statements_done as "statementsDone",
       statements_total as "statementsTotal", updated_at as "updatedAt"
  from migration_console.progress order by created_at`;

const drizzleRow = (r: { id: number; hash: string; created_at: string | null }): DrizzleLedgerRow => ({ id: r.id, hash: r.hash, createdAt: Number(r.created_at) });

/**
 * Creates the ledger tables when missing and reads them, with `preamble` (fixed SQL, run first) and
 * `trailing` (SELECTs whose results are returned after), all in one round trip.
 */
export async function ensureAndReadLedger(sql: postgres.Sql, preamble: string[], trailing: string[], ensure = true): Promise<{ ledger: Ledger; trailing: unknown[][] }> {
  const reads = [SELECT_DRIZZLE, SELECT_HISTORY, SELECT_PROGRESS, ...trailing];
  const results = (await sql.unsafe([...preamble, ...(ensure ? ENSURE_LEDGER_SQL : []), ...reads].join(";\n")).simple()) as unknown as unknown[][];
  // Only statements that return rows have a result here: the reads are the last ones.
  const [drizzle, history, progress, ...rest] = results.slice(-reads.length);
  return {
    ledger: {
      drizzle: (drizzle as { id: number; hash: string; created_at: string | null }[]).map(drizzleRow),
      history: [...(history as HistoryRow[])],
      progress: [...(progress as ProgressRow[])],
    },
    trailing: rest,
  };
}

/**
 * Every ledger as it is now; empty when the target has never been migrated. `existing` skips the
 * existence check when the caller just ensured the tables; the reads are pipelined either way.
 */
export async function readLedger(sql: postgres.Sql, existing?: "ensured"): Promise<Ledger> {
  const exists =
    existing === "ensured"
      ? { drizzle: true, history: true, progress: true }
      : (
          await sql<{ drizzle: boolean; history: boolean; progress: boolean }[]>`
            select to_regclass('drizzle.__drizzle_migrations') is not null as drizzle,
                   to_regclass('migration_console.history') is not null as history,
                   to_regclass('migration_console.progress') is not null as progress`
        )[0]!;
  const [drizzle, history, progress] = await Promise.all([
    exists.drizzle
      ? sql<{ id: number; hash: string; created_at: string | null }[]>`select id, hash, created_at from drizzle.__drizzle_migrations order by id`.then((rows) =>
          rows.map((r) => ({ id: r.id, hash: r.hash, createdAt: Number(r.created_at) })),
        )
      : [],
    exists.history
      ? sql<HistoryRow[]>`
          select tag, hash, created_at::float8 as "createdAt", direction, run_id as "runId", actor,
                 started_at as "startedAt", finished_at as "finishedAt", duration_ms as "durationMs"
          from migration_console.history order by id`.then((rows) => [...rows])
      : [],
    exists.progress
      ? sql<ProgressRow[]>`
          select tag, hash, created_at::float8 as "createdAt", run_id as "runId", statements_done as "statementsDone",
                 statements_total as "statementsTotal", updated_at as "updatedAt"
          from migration_console.progress order by created_at`.then((rows) => [...rows])
      : [],
  ]);
  return { drizzle, history, progress };
}

/**
 * A value as SQL literal text. The executor's connection keeps no prepared statement (prepare: false),
 * and there postgres.js sends a query with parameters in two round trips (describe, then execute) and
 * stops pipelining behind it: the ledger writes below go as one simple-protocol message each instead.
 * E'' strings read backslashes the same whatever standard_conforming_strings says.
 */
export function sqlLiteral(value: string | number | Date): string {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`Not a finite number: ${value}`);
    return String(value);
  }
  const text = value instanceof Date ? value.toISOString() : value;
  return `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

type Writer = postgres.Sql | postgres.TransactionSql;
const run = (sql: Writer, text: string) => sql.unsafe(text).simple();

/** Records how many statements of a non-transactional migration have committed. */
export function recordProgress(sql: Writer, entry: ProgressEntry) {
  return run(sql, progressRowSql(entry));
}

type ProgressEntry = { tag: string; hash: string; createdAt: number; runId: string; statementsDone: number; statementsTotal: number };

/** The statement that records a non-transactional migration's progress (fixed SQL, to send with others). */
export function progressRowSql(entry: ProgressEntry): string {
  const v = sqlLiteral;
  return `insert into migration_console.progress (created_at, tag, hash, run_id, statements_done, statements_total)
     values (${v(entry.createdAt)}, ${v(entry.tag)}, ${v(entry.hash)}, ${v(entry.runId)}, ${v(entry.statementsDone)}, ${v(entry.statementsTotal)})
     on conflict (created_at) do update set tag = excluded.tag, hash = excluded.hash, run_id = excluded.run_id,
       statements_done = excluded.statements_done, statements_total = excluded.statements_total, updated_at = clock_timestamp()`;
}

export function clearProgress(sql: Writer, createdAt: number) {
  return run(sql, `delete from migration_console.progress where created_at = ${sqlLiteral(createdAt)}`);
}

/** Milliseconds, or SQL that computes them where the row is written (durationThroughTransaction). */
export type Duration = number | { sql: string };

export type HistoryEntry = { tag: string; hash: string; createdAt: number; runId: string; actor: string; startedAt: Date; durationMs: Duration };

/**
 * A migration's duration for a ledger row sent before its statements have finished: the time it
 * took before its last transaction began (ours), plus that transaction's time so far (the server's
 * clock, when the row is written behind the statements). Each clock is only compared with itself.
 */
export function durationThroughTransaction(msBeforeTransaction: number): Duration {
  return { sql: `(${Math.max(0, Math.round(msBeforeTransaction))} + round(extract(epoch from clock_timestamp() - transaction_timestamp()) * 1000))::int` };
}

function historyValues(entry: HistoryEntry, direction: "up" | "down"): string {
  const v = sqlLiteral;
  const duration = typeof entry.durationMs === "number" ? v(entry.durationMs) : entry.durationMs.sql;
  return `(${v(entry.tag)}, ${v(entry.hash)}, ${v(entry.createdAt)}, '${direction}', ${v(entry.runId)}, ${v(entry.actor)}, ${v(entry.startedAt)}::timestamptz, ${duration})`;
}

/**
 * The one statement that records an applied migration in both ledgers and ends any progress row
 * (fixed SQL: the executor sends it in its migration's last transaction, with the COMMIT).
 */
export function appliedRowsSql(entry: HistoryEntry): string {
  return `with ledger as (insert into drizzle.__drizzle_migrations (hash, created_at) values (${sqlLiteral(entry.hash)}, ${sqlLiteral(entry.createdAt)})),
          progress as (delete from migration_console.progress where created_at = ${sqlLiteral(entry.createdAt)})
     insert into migration_console.history (tag, hash, created_at, direction, run_id, actor, started_at, duration_ms)
     values ${historyValues(entry, "up")}`;
}

/** The one statement that removes a rolled-back migration from drizzle's ledger and records the rollback. */
export function rolledBackRowsSql(entry: HistoryEntry): string {
  return `with ledger as (delete from drizzle.__drizzle_migrations where created_at = ${sqlLiteral(entry.createdAt)})
     insert into migration_console.history (tag, hash, created_at, direction, run_id, actor, started_at, duration_ms)
     values ${historyValues(entry, "down")}`;
}

/** Accepts the file's current checksum for an applied migration (an explicit, recorded decision). */
export async function acceptChecksum(sql: Writer, entry: { createdAt: number; hash: string }): Promise<void> {
  await run(sql, `update drizzle.__drizzle_migrations set hash = ${sqlLiteral(entry.hash)} where created_at = ${sqlLiteral(entry.createdAt)}`);
}
