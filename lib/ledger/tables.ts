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
];

/** Creates the ledger tables when missing. Idempotent; call under the target's apply lock. */
export async function ensureLedger(sql: postgres.Sql | postgres.TransactionSql): Promise<void> {
  for (const statement of ENSURE_LEDGER_SQL) await sql.unsafe(statement);
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

/** Both ledgers as they are now; empty when the target has never been migrated. */
export async function readLedger(sql: postgres.Sql): Promise<{ drizzle: DrizzleLedgerRow[]; history: HistoryRow[] }> {
  const [exists] = await sql<{ drizzle: boolean; history: boolean }[]>`
    select to_regclass('drizzle.__drizzle_migrations') is not null as drizzle,
           to_regclass('migration_console.history') is not null as history`;
  const drizzle = exists!.drizzle
    ? (await sql<{ id: number; hash: string; created_at: string | null }[]>`
        select id, hash, created_at from drizzle.__drizzle_migrations order by id`).map((r) => ({
        id: r.id,
        hash: r.hash,
        createdAt: Number(r.created_at),
      }))
    : [];
  const history = exists!.history
    ? await sql<HistoryRow[]>`
        select tag, hash, created_at::float8 as "createdAt", direction, run_id as "runId", actor,
               started_at as "startedAt", finished_at as "finishedAt", duration_ms as "durationMs"
        from migration_console.history order by id`
    : [];
  return { drizzle, history };
}

/** Records an applied migration in both ledgers. Run inside the migration's own transaction when it has one. */
export async function recordApplied(
  sql: postgres.Sql | postgres.TransactionSql,
  entry: { tag: string; hash: string; createdAt: number; runId: string; actor: string; startedAt: Date; durationMs: number },
): Promise<void> {
  await sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${entry.hash}, ${entry.createdAt})`;
  await sql`
    insert into migration_console.history (tag, hash, created_at, direction, run_id, actor, started_at, duration_ms)
    values (${entry.tag}, ${entry.hash}, ${entry.createdAt}, 'up', ${entry.runId}, ${entry.actor}, ${entry.startedAt}, ${entry.durationMs})`;
}

/** Removes a rolled-back migration from drizzle's ledger and records the rollback. */
export async function recordRolledBack(
  sql: postgres.Sql | postgres.TransactionSql,
  entry: { tag: string; hash: string; createdAt: number; runId: string; actor: string; startedAt: Date; durationMs: number },
): Promise<void> {
  await sql`delete from drizzle.__drizzle_migrations where created_at = ${entry.createdAt}`;
  await sql`
    insert into migration_console.history (tag, hash, created_at, direction, run_id, actor, started_at, duration_ms)
    values (${entry.tag}, ${entry.hash}, ${entry.createdAt}, 'down', ${entry.runId}, ${entry.actor}, ${entry.startedAt}, ${entry.durationMs})`;
}

/** Accepts the file's current checksum for an applied migration (an explicit, recorded decision). */
export async function acceptChecksum(
  sql: postgres.Sql | postgres.TransactionSql,
  entry: { createdAt: number; hash: string },
): Promise<void> {
  await sql`update drizzle.__drizzle_migrations set hash = ${entry.hash} where created_at = ${entry.createdAt}`;
}
