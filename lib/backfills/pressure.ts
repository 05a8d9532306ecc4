/**
 * Is the target under pressure? Checked before every batch. The runner waits, and says why, while:
 * - a transaction in the target's database has been open longer than allowed with a snapshot
 *   (backend_xmin): vacuum cannot remove the dead rows every batch leaves in the table behind it;
 * - sessions have waited longer than allowed for a lock: the application is already queueing;
 * - a replica (pg_stat_replication) replays later than allowed: more writes would widen the gap.
 */
import type postgres from "postgres";
import { BACKFILL_APPLICATION } from "./target";

export interface PressureLimits {
  maxTransactionAgeMs: number;
  maxLockWaitMs: number;
  maxReplicationLagMs: number;
  /** How often to look again while waiting. */
  recheckMs: number;
}

export const DEFAULT_PRESSURE_LIMITS: PressureLimits = { maxTransactionAgeMs: 60_000, maxLockWaitMs: 2_000, maxReplicationLagMs: 10_000, recheckMs: 1_000 };

export type PressureKind = "long_transaction" | "lock_waits" | "replication_lag";

export interface Pressure {
  kind: PressureKind;
  reason: string;
}

interface Readings {
  long_transactions: { pid: number; usename: string | null; application_name: string | null; age_ms: number; query: string | null }[] | null;
  lock_waits: { pid: number; wait_ms: number; blocked_by: number[] }[] | null;
  replicas: { name: string | null; lag_ms: number | null }[] | null;
}

export async function readPressure(sql: postgres.Sql, table: string, limits: PressureLimits): Promise<Pressure | null> {
  const [r] = await sql<Readings[]>`
    select
      (select json_agg(x) from (
        select pid, usename, application_name, (extract(epoch from now() - xact_start) * 1000)::bigint as age_ms, left(query, 120) as query
        from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
          and (backend_xmin is not null or backend_xid is not null) and xact_start < now() - make_interval(secs => ${limits.maxTransactionAgeMs / 1000})
          and coalesce(application_name, '') not like ${`${BACKFILL_APPLICATION}%`}
        order by xact_start limit 3) x) as long_transactions,
      (select json_agg(x) from (
        select pid, (extract(epoch from now() - query_start) * 1000)::bigint as wait_ms, pg_blocking_pids(pid) as blocked_by
        from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()
          and query_start < now() - make_interval(secs => ${limits.maxLockWaitMs / 1000})
        order by query_start limit 3) x) as lock_waits,
      (select json_agg(x) from (
        select coalesce(application_name, client_addr::text) as name,
          (extract(epoch from greatest(replay_lag, write_lag, flush_lag)) * 1000)::bigint as lag_ms
        from pg_stat_replication) x) as replicas`;
  return judgePressure(r!, table, limits);
}

/** The decision, apart from the reading, so every branch is testable without a replica. */
export function judgePressure(r: Readings, table: string, limits: PressureLimits): Pressure | null {
  const long = r.long_transactions?.[0];
  if (long) {
    const who = [long.application_name ? `"${long.application_name}"` : null, long.usename ? `user ${long.usename}` : null].filter(Boolean).join(", ");
    return {
      kind: "long_transaction",
      reason: `A transaction has been open for ${seconds(long.age_ms)} (pid ${long.pid}${who ? `, ${who}` : ""}) and holds back vacuum on ${table}; waiting for it to end (limit ${seconds(limits.maxTransactionAgeMs)}).`,
    };
  }
  const waits = r.lock_waits ?? [];
  if (waits.length > 0) {
    const first = waits[0]!;
    return {
      kind: "lock_waits",
      reason: `${waits.length === 1 ? "A session has" : `${waits.length} sessions have`} waited over ${seconds(limits.maxLockWaitMs)} for a lock (pid ${first.pid}${first.blocked_by.length ? ` behind pid ${first.blocked_by.join(", ")}` : ""}); yielding to the application.`,
    };
  }
  const lagging = (r.replicas ?? []).filter((x) => (x.lag_ms ?? 0) > limits.maxReplicationLagMs).sort((a, b) => (b.lag_ms ?? 0) - (a.lag_ms ?? 0))[0];
  if (lagging) {
    return { kind: "replication_lag", reason: `Replica ${lagging.name ?? "(unnamed)"} is ${seconds(lagging.lag_ms ?? 0)} behind (limit ${seconds(limits.maxReplicationLagMs)}); waiting for it to catch up.` };
  }
  return null;
}

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
