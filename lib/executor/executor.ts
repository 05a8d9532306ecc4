/**
 * Applies and rolls back migrations on a live target without queueing traffic behind us:
 * one run per target (advisory lock), short lock_timeout with bounded retries, transactional
 * statements in one transaction with their ledger rows, CONCURRENTLY statements in autocommit
 * with an invalid-index guard, and an event for every step so the run log is live.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import postgres from "postgres";
import { isTransactionControl, type Catalog, type SqlScript, type Statement } from "../catalog";
import { computeStatus, ensureLedger, readLedger, recordApplied, recordRolledBack, acceptChecksum, type LedgerStatus } from "../ledger";
import { describeBlockers, ExecutorError, type Blocker } from "./errors";
import { selectForApply, selectForRollback, type Unit } from "./selection";

export interface ExecutorOptions {
  /** How long one statement may wait for a lock before giving up and retrying (ms). */
  lockTimeoutMs: number;
  /** 0 = no limit. Index builds on big tables take long: raise with care. */
  statementTimeoutMs: number;
  /** Retries after a lock timeout, per unit of work. */
  maxRetries: number;
  retryBaseDelayMs: number;
}

export const DEFAULT_EXECUTOR_OPTIONS: ExecutorOptions = {
  lockTimeoutMs: 2000,
  statementTimeoutMs: 0,
  maxRetries: 5,
  retryBaseDelayMs: 250,
};

export type RunEvent =
  | { type: "run_started"; runId: string; direction: "up" | "down"; migrations: string[]; statements: number }
  | { type: "migration_started"; tag: string; n: number; of: number; transactional: boolean }
  | { type: "statement_finished"; tag: string; statement: number; of: number; done: number; total: number; durationMs: number; summary: string }
  | { type: "retry"; tag: string; statement: number; attempt: number; maxRetries: number; delayMs: number; reason: string; blockers: Blocker[] }
  | { type: "invalid_index_dropped"; tag: string; index: string; reason: string }
  | { type: "checksum_accepted"; tag: string; from: string; to: string }
  | { type: "migration_finished"; tag: string; durationMs: number }
  | { type: "run_finished"; runId: string; migrations: string[]; durationMs: number }
  | { type: "run_failed"; runId: string; error: ReturnType<ExecutorError["toJSON"]> };

export type EventSink = (event: RunEvent & { at: Date }) => void | Promise<void>;

export interface RunParams {
  url: string;
  catalog: Catalog;
  /** Who is acting, as it should appear in the ledger ("ana@clinic" or "cli:root"). */
  actor: string;
  runId?: string;
  options?: Partial<ExecutorOptions>;
  onEvent?: EventSink;
}

export interface ApplyParams extends RunParams {
  /** Apply up to and including this tag; the latest when omitted. */
  to?: string | null;
  /** Also apply migrations older than the newest applied one. */
  allowOutOfOrder?: boolean;
  /** Record the files' current checksums for applied migrations whose file was edited. */
  acceptChecksums?: boolean;
  /** Proceed although the ledger holds migrations this checkout does not know. */
  allowUnknown?: boolean;
}

export interface RollbackParams extends RunParams {
  /** Roll back every migration applied after this tag; null rolls back all of them. */
  to: string | null;
}

export interface RunResult {
  runId: string;
  direction: "up" | "down";
  migrations: string[];
  durationMs: number;
  status: LedgerStatus;
}

/** Fixed advisory lock (classid, objid) every apply and rollback on a target database takes. */
const APPLY_LOCK = [736120, 1] as const;

/** Whether any session holds the target's apply lock right now (a run is in progress there). */
export async function applyLockHeld(url: string): Promise<boolean> {
  const sql = connect(url, "migration-console lock check");
  try {
    const [row] = await sql<{ held: boolean }[]>`
      select exists (
        select 1 from pg_locks
        where locktype = 'advisory' and classid = ${APPLY_LOCK[0]} and objid = ${APPLY_LOCK[1]} and granted
          and database = (select oid from pg_database where datname = current_database())
      ) as held`;
    return row!.held;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function readStatus(url: string, catalog: Catalog): Promise<LedgerStatus> {
  const sql = connect(url, "status");
  try {
    return computeStatus(catalog, await readLedger(sql));
  } catch (e) {
    throw asConnectionError(e);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function applyMigrations(params: ApplyParams): Promise<RunResult> {
  return run(
    params,
    "up",
    (status) => selectForApply(params.catalog, status, params),
    async (session, status) => {
      for (const tag of params.acceptChecksums ? status.problems.checksumMismatch : []) {
        const m = params.catalog.byTag(tag)!;
        const from = status.migrations.find((s) => s.tag === tag)!.appliedHash!;
        await acceptChecksum(session.sql, { createdAt: m.when, hash: m.checksum });
        await session.emit({ type: "checksum_accepted", tag, from, to: m.checksum });
      }
    },
  );
}

export function rollbackMigrations(params: RollbackParams): Promise<RunResult> {
  return run(params, "down", (status) => selectForRollback(params.catalog, status, params.to));
}

/**
 * A script with BEGIN/COMMIT/ROLLBACK/SAVEPOINT/END (any TransactionStmt) would end or split the
 * transaction the executor runs it in, leaving part of it committed: refused before anything runs.
 */
function refuseTransactionControl(units: Unit[]): void {
  const found = units.flatMap((u) => u.script.statements.filter(isTransactionControl).map((s) => ({ unit: u, s })));
  const first = found[0];
  if (!first) return;
  const file = first.unit.script.file;
  const more = found.length > 1 ? ` (and ${found.length - 1} more transaction-control statement(s))` : "";
  throw new ExecutorError(
    "transaction_control",
    `${path.basename(file)}:${first.s.line}:${first.s.column}: ${first.s.analysis.summary} is transaction control${more}. The console runs each migration in its own transaction; remove BEGIN/COMMIT/ROLLBACK/SAVEPOINT/END from the file.`,
    {
      tag: first.unit.migration.tag,
      file,
      statement: first.s.index + 1,
      line: first.s.line,
      column: first.s.column,
      leftBehind: "Nothing was applied: the run was refused before its first statement.",
    },
  );
}


interface Session {
  sql: postgres.Sql;
  monitor: postgres.Sql;
  pid: number;
  runId: string;
  actor: string;
  options: ExecutorOptions;
  emit: (event: RunEvent) => Promise<void>;
}

async function run(
  params: RunParams,
  direction: "up" | "down",
  select: (status: LedgerStatus) => Unit[],
  prepare?: (s: Session, status: LedgerStatus) => Promise<void>,
): Promise<RunResult> {
  const runId = params.runId ?? randomUUID();
  const options = { ...DEFAULT_EXECUTOR_OPTIONS, ...params.options };
  const started = performance.now();
  const sql = connect(params.url, applicationName(`migration-console ${runId} ${params.actor}`));
  const monitor = connect(params.url, applicationName(`migration-console monitor ${runId}`));
  const emit = async (event: RunEvent) => {
    await params.onEvent?.({ ...event, at: new Date() });
  };
  try {
    let pid: number;
    try {
      const rows = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
      pid = rows[0]!.pid;
    } catch (e) {
      throw asConnectionError(e);
    }
    const session: Session = { sql, monitor, pid, runId, actor: params.actor, options, emit };
    await takeApplyLock(session);
    await sql.unsafe(`SET lock_timeout = ${options.lockTimeoutMs}`);
    await sql.unsafe(`SET statement_timeout = ${options.statementTimeoutMs}`);
    // If this process dies (SIGKILL, lost host), the server would otherwise only notice once the current
    // statement ends (an index build can take hours), holding the target's lock and a half-done transaction.
    await sql.unsafe(`SET client_connection_check_interval = 1000`);
    // Every refusal comes before the first write, the ledger tables included.
    const before = computeStatus(params.catalog, await readLedger(sql));
    const units = select(before);
    refuseTransactionControl(units);
    await ensureLedger(sql);
    await prepare?.(session, before);
    const total = units.reduce((n, u) => n + u.script.statements.length, 0);
    await emit({ type: "run_started", runId, direction, migrations: units.map((u) => u.migration.tag), statements: total });
    let done = 0;
    for (const [i, unit] of units.entries()) {
      done = await runUnit(session, unit, direction, { n: i + 1, of: units.length, done, total });
    }
    const status = computeStatus(params.catalog, await readLedger(sql));
    const durationMs = Math.round(performance.now() - started);
    await emit({ type: "run_finished", runId, migrations: units.map((u) => u.migration.tag), durationMs });
    return { runId, direction, migrations: units.map((u) => u.migration.tag), durationMs, status };
  } catch (e) {
    const error = e instanceof ExecutorError ? e : asConnectionError(e);
    await emit({ type: "run_failed", runId, error: error.toJSON() }).catch(() => {});
    throw error;
  } finally {
    // Ending the session releases the advisory lock.
    await Promise.all([sql.end({ timeout: 5 }), monitor.end({ timeout: 5 })]);
  }
}

/**
 * PostgreSQL keeps 63 bytes of application_name and drops the rest silently; the lock holder's run id
 * and actor are read back from it, so a name that does not fit is cut visibly ("...") instead.
 */
function applicationName(name: string): string {
  const MAX_BYTES = 63;
  if (Buffer.byteLength(name) <= MAX_BYTES) return name;
  let cut = name;
  while (Buffer.byteLength(cut) > MAX_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

function connect(url: string, application: string): postgres.Sql {
  return postgres(url, {
    max: 1,
    // No round trip for array types at connect: nothing here reads arrays of custom types.
    fetch_types: false,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 0,
    connection: { application_name: application },
  });
}

function asConnectionError(e: unknown): ExecutorError {
  if (e instanceof ExecutorError) return e;
  const err = e as { code?: string; message?: string };
  if (err.code && /^[0-9A-Z]{5}$/.test(err.code) && err.code !== "28P01" && err.code !== "3D000") {
    return new ExecutorError("sql_error", err.message ?? "SQL error", { sqlstate: err.code });
  }
  return new ExecutorError("unreachable", `The target database cannot be reached: ${(err.message ?? String(e)).replace(/postgres(ql)?:\/\/\S+/g, "(url)")}`);
}

async function takeApplyLock(session: Session): Promise<void> {
  const [row] = await session.sql<{ locked: boolean }[]>`select pg_try_advisory_lock(${APPLY_LOCK[0]}, ${APPLY_LOCK[1]}) as locked`;
  if (row!.locked) return;
  const [holder] = await session.sql<{ pid: number; application_name: string | null; backend_start: Date | null }[]>`
    select a.pid, a.application_name, a.backend_start
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.classid = ${APPLY_LOCK[0]} and l.objid = ${APPLY_LOCK[1]} and l.granted
      and l.database = (select oid from pg_database where datname = current_database())
    limit 1`;
  const who = holder?.application_name?.startsWith("migration-console ")
    ? `run ${holder.application_name.split(" ")[1]} by ${holder.application_name.split(" ").slice(2).join(" ")}`
    : `session pid ${holder?.pid ?? "?"}`;
  throw new ExecutorError("target_locked", `Another apply or rollback is already running on this target (${who}, since ${holder?.backend_start?.toISOString() ?? "unknown"}). Wait for it to finish.`, {
    holder: holder ? { pid: holder.pid, application: holder.application_name, since: holder.backend_start } : undefined,
  });
}

/** Splits a script into runs of transactional statements (one transaction each) and single autocommit statements. */
export function transactionBatches(statements: Statement[]): { transactional: boolean; statements: Statement[] }[] {
  const out: { transactional: boolean; statements: Statement[] }[] = [];
  for (const s of statements) {
    const last = out.at(-1);
    if (s.analysis.transactional && last?.transactional) last.statements.push(s);
    else out.push({ transactional: s.analysis.transactional, statements: [s] });
  }
  return out;
}

async function runUnit(session: Session, unit: Unit, direction: "up" | "down", progress: { n: number; of: number; done: number; total: number }): Promise<number> {
  const { migration, script } = unit;
  const startedAt = new Date();
  const started = performance.now();
  const parts = transactionBatches(script.statements);
  const fullyTransactional = parts.length <= 1 && (parts[0]?.transactional ?? true);
  await session.emit({ type: "migration_started", tag: migration.tag, n: progress.n, of: progress.of, transactional: fullyTransactional });
  const ledgerEntry = () => ({
    tag: migration.tag,
    hash: migration.checksum,
    createdAt: migration.when,
    runId: session.runId,
    actor: session.actor,
    startedAt,
    durationMs: Math.round(performance.now() - started),
  });
  const record = (tx: postgres.Sql | postgres.TransactionSql) => (direction === "up" ? recordApplied(tx, ledgerEntry()) : recordRolledBack(tx, ledgerEntry()));

  let done = progress.done;
  const builtIndexes: string[] = [];
  /** Committed statements a failure cannot take back (this migration's index builds are dropped instead). */
  const kept: string[] = [];
  const invalidLeft = new Set<string>();
  const indexesBefore = await concurrentIndexStates(session.sql, script);
  try {
    for (const [p, part] of parts.entries()) {
      const isLast = p === parts.length - 1;
      if (part.transactional) {
        await withLockRetries(session, migration.tag, part.statements[0]!, async () => {
          let local = done;
          await session.sql.begin(async (tx) => {
            for (const statement of part.statements) {
              local = await execute(session, tx, script, migration.tag, statement, { done: local, total: progress.total });
            }
            // The ledger row commits with the migration's last transaction, or not at all.
            if (isLast) await record(tx);
          });
          done = local;
        });
        kept.push(...part.statements.map((s) => s.analysis.summary));
      } else {
        const statement = part.statements[0]!;
        const built = await runAutocommit(session, script, migration.tag, statement, { done, total: progress.total }, invalidLeft, indexesBefore);
        if (built) builtIndexes.push(built);
        else kept.push(statement.analysis.summary);
        done += 1;
        if (isLast) await session.sql.begin((tx) => record(tx));
      }
    }
  } catch (e) {
    if (!(e instanceof ExecutorError)) throw e;
    const { dropped, remaining } = await undoBuiltIndexes(session, migration.tag, builtIndexes);
    const left = [
      kept.length ? `these statements had committed before the failure and were not undone: ${kept.join("; ")}` : null,
      remaining.length ? `indexes it built could not be dropped: ${remaining.join(", ")}` : null,
      invalidLeft.size ? `an invalid index remains (${[...invalidLeft].join(", ")}): what stopped the build also stopped its removal; the next apply drops it before rebuilding` : null,
    ].filter(Boolean);
    const droppedNote = dropped.length ? ` (indexes it had built were dropped: ${dropped.join(", ")})` : "";
    e.details.tag ??= migration.tag;
    e.details.leftBehind = left.length
      ? `${migration.tag} is not recorded as applied, but ${left.join("; ")}${droppedNote}.`
      : `${migration.tag} is not recorded as applied and the target is as it was before it${droppedNote}.`;
    throw e;
  }
  await session.emit({ type: "migration_finished", tag: migration.tag, durationMs: Math.round(performance.now() - started) });
  return done;
}

async function execute(
  session: Session,
  conn: postgres.Sql | postgres.TransactionSql,
  script: SqlScript,
  tag: string,
  statement: Statement,
  progress: { done: number; total: number },
): Promise<number> {
  const started = performance.now();
  const stopWatching = watchBlockers(session);
  try {
    await conn.unsafe(statement.sql);
  } catch (e) {
    throw sqlFailure(e, script, tag, statement, stopWatching());
  } finally {
    stopWatching();
  }
  const done = progress.done + 1;
  await session.emit({
    type: "statement_finished",
    tag,
    statement: statement.index + 1,
    of: script.statements.length,
    done,
    total: progress.total,
    durationMs: Math.round(performance.now() - started),
    summary: statement.analysis.summary,
  });
  return done;
}

/** Retries a unit of work after lock timeouts, with exponential backoff and jitter. */
async function withLockRetries(session: Session, tag: string, first: Statement, work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (!(e instanceof ExecutorError) || e.code !== "lock_timeout" || attempt > session.options.maxRetries) throw e;
      const delayMs = Math.min(10_000, session.options.retryBaseDelayMs * 2 ** (attempt - 1) + Math.floor(Math.random() * session.options.retryBaseDelayMs));
      await session.emit({
        type: "retry",
        tag,
        statement: e.details.statement ?? first.index + 1,
        attempt,
        maxRetries: session.options.maxRetries,
        delayMs,
        reason: e.message,
        blockers: e.details.blockers ?? [],
      });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

interface IndexState {
  exists: boolean;
  valid: boolean;
}

/** The state of every named CONCURRENTLY index a script builds, in one round trip (none when it builds none). */
async function concurrentIndexStates(sql: postgres.Sql, script: SqlScript): Promise<Map<string, IndexState>> {
  const named = script.statements.flatMap((s) => (s.analysis.concurrentIndex?.name ? [[s.analysis.concurrentIndex.schema, s.analysis.concurrentIndex.name]] : []));
  const states = new Map<string, IndexState>();
  if (named.length === 0) return states;
  const rows = await sql<{ qualified: string; valid: boolean; ready: boolean }[]>`
    select n.nspname || '.' || c.relname as qualified, i.indisvalid as valid, i.indisready as ready
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname, c.relname) in (select x ->> 0, x ->> 1 from jsonb_array_elements(${JSON.stringify(named)}::text::jsonb) x)`;
  for (const r of rows) states.set(r.qualified, { exists: true, valid: r.valid && r.ready });
  return states;
}

async function indexState(sql: postgres.Sql, schema: string, name: string): Promise<IndexState> {
  const [row] = await sql<{ valid: boolean; ready: boolean }[]>`
    select i.indisvalid as valid, i.indisready as ready
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = ${name}`;
  return row ? { exists: true, valid: row.valid && row.ready } : { exists: false, valid: false };
}

const quoteIdent = (id: string) => `"${id.replace(/"/g, '""')}"`;

async function dropIndex(sql: postgres.Sql, schema: string, name: string): Promise<void> {
  await sql.unsafe(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(schema)}.${quoteIdent(name)}`);
}

/**
 * One non-transactional statement. For CREATE INDEX CONCURRENTLY: an invalid leftover of an
 * earlier failed attempt is dropped first (IF NOT EXISTS would otherwise keep it forever), and the
 * new index must be valid afterwards. Returns the qualified name of an index this call built.
 */
async function runAutocommit(
  session: Session,
  script: SqlScript,
  tag: string,
  statement: Statement,
  progress: { done: number; total: number },
  invalidLeft: Set<string>,
  indexesBefore: Map<string, IndexState>,
): Promise<string | null> {
  const index = statement.analysis.concurrentIndex;
  const named = index?.name ? { schema: index.schema, name: index.name } : null;
  const qualified = named ? `${named.schema}.${named.name}` : null;
  let existedValid: boolean | null = null;
  let attempt = 0;

  await withLockRetries(session, tag, statement, async () => {
    if (named) {
      // Before every attempt, not once: a timed-out attempt can leave one too. The first uses the migration's up-front read.
      const before = attempt++ === 0 ? (indexesBefore.get(qualified!) ?? { exists: false, valid: false }) : await indexState(session.sql, named.schema, named.name);
      existedValid ??= before.exists && before.valid;
      if (before.exists && !before.valid) {
        await onBehalfOf(session, script, tag, statement, () => dropIndex(session.sql, named.schema, named.name));
        invalidLeft.delete(qualified!);
        await session.emit({ type: "invalid_index_dropped", tag, index: qualified!, reason: "an invalid index left by an earlier failed build; rebuilding it" });
      }
    }
    try {
      await execute(session, session.sql, script, tag, statement, progress);
    } catch (e) {
      if (named) {
        // The build's own error is the one to report, even when this check fails too.
        const after = await indexState(session.sql, named.schema, named.name).catch(() => null);
        if (after?.exists && !after.valid) {
          try {
            await dropIndex(session.sql, named.schema, named.name);
            await session.emit({ type: "invalid_index_dropped", tag, index: qualified!, reason: "the build failed and left an invalid index, which would slow every write" });
          } catch {
            // What stopped the build (often a lock) can stop its removal too; the build's own error is the one to report.
            invalidLeft.add(qualified!);
          }
        }
      }
      throw e;
    }
  });

  if (!named) return null;
  const after = await indexState(session.sql, named.schema, named.name);
  if (!after.valid) {
    await dropIndex(session.sql, named.schema, named.name);
    throw new ExecutorError("invalid_index", `${qualified} was built but is not valid; it was dropped.`, { tag, file: script.file, statement: statement.index + 1, line: statement.line, column: statement.column });
  }
  return existedValid ? null : qualified;
}

/** Catalog work done on a statement's behalf, failing as the statement would (a lock timeout names its blocker and is retried). */
async function onBehalfOf(session: Session, script: SqlScript, tag: string, statement: Statement, work: () => Promise<void>): Promise<void> {
  const stopWatching = watchBlockers(session);
  try {
    await work();
  } catch (e) {
    throw sqlFailure(e, script, tag, statement, stopWatching());
  } finally {
    stopWatching();
  }
}

/** A failed non-transactional migration takes back the indexes it built, so the target is as before it. */
async function undoBuiltIndexes(session: Session, tag: string, qualified: string[]): Promise<{ dropped: string[]; remaining: string[] }> {
  const dropped: string[] = [];
  const remaining: string[] = [];
  for (const q of [...qualified].reverse()) {
    const [schema, name] = q.split(".") as [string, string];
    try {
      await dropIndex(session.sql, schema, name);
    } catch {
      remaining.push(q);
      continue;
    }
    dropped.push(q);
    await session.emit({ type: "invalid_index_dropped", tag, index: q, reason: "built earlier in this failed migration; dropped so the target is as it was before it" });
  }
  return { dropped, remaining };
}

/**
 * While a statement runs, a second session looks at who blocks it, so a lock timeout can name
 * the blocker (the error itself does not). Returns a function that stops watching and gives the
 * last blockers seen.
 */
function watchBlockers(session: Session): () => Blocker[] {
  let last: Blocker[] = [];
  let stopped = false;
  const every = Math.max(50, Math.floor(session.options.lockTimeoutMs / 3));
  const look = async () => {
    if (stopped) return;
    try {
      const rows = await session.monitor<{ pid: number; usename: string | null; application_name: string | null; state: string | null; query: string | null; age_ms: number | null }[]>`
        select pid, usename, application_name, state, query,
               (extract(epoch from clock_timestamp() - coalesce(xact_start, query_start, backend_start)) * 1000)::float8 as age_ms
        from pg_stat_activity where pid = any(pg_blocking_pids(${session.pid}))`;
      if (rows.length > 0) {
        last = rows.map((r) => ({ pid: r.pid, user: r.usename, application: r.application_name, state: r.state, query: r.query, ageMs: Math.round(r.age_ms ?? 0) }));
      }
    } catch {
      // Monitoring is best effort; the statement's own outcome decides.
    }
    if (!stopped) timer = setTimeout(look, every);
  };
  let timer = setTimeout(look, every);
  return () => {
    stopped = true;
    clearTimeout(timer);
    return last;
  };
}

/** Maps a PostgreSQL error to the file, line and column of the statement that raised it. */
function sqlFailure(e: unknown, script: SqlScript, tag: string, statement: Statement, blockers: Blocker[]): ExecutorError {
  const err = e as { code?: string; message?: string; position?: string; detail?: string; hint?: string };
  if (!err.code || !/^[0-9A-Z]{5}$/.test(err.code)) return asConnectionError(e);
  let line = statement.line;
  let column = statement.column;
  const position = Number(err.position);
  if (Number.isInteger(position) && position > 0) {
    const before = statement.sql.slice(0, position - 1).split("\n");
    line = statement.line + before.length - 1;
    column = before.length === 1 ? statement.column + before[0]!.length : before.at(-1)!.length + 1;
  }
  const where = { tag, file: script.file, statement: statement.index + 1, line, column, sqlstate: err.code };
  if (err.code === "55P03") {
    return new ExecutorError("lock_timeout", `Statement ${statement.index + 1} of ${tag} (${statement.analysis.summary}) waited longer than lock_timeout for a lock held by ${describeBlockers(blockers)}.`, {
      ...where,
      blockers,
    });
  }
  const extra = [err.detail && `Detail: ${err.detail}`, err.hint && `Hint: ${err.hint}`].filter(Boolean).join(" ");
  return new ExecutorError("sql_error", `${script.file.split("/").pop()}:${line}:${column}: ${err.message}${extra ? ` (${extra})` : ""}`, where);
}
