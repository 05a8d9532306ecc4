/**
 * Applies and rolls back migrations on a live target without queueing traffic behind us:
 * refuses a transaction-mode pooler (nothing here would be one session there), one run per target
 * (advisory lock), a lock_timeout that starts short and ramps up with jittered pauses, transactional
 * statements in one transaction with their ledger rows, CONCURRENTLY statements in autocommit with
 * an invalid-index guard and a progress row, and an event for every step so the run log is live.
 * Whatever it sets or locks on the session is undone before the connection is given back.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import type postgres from "postgres";
import { isTransactionControl, type Catalog, type SqlScript, type Statement } from "../migrations";
import {
  acceptChecksum,
  clearProgress,
  ensureAndReadStatus,
  ensureLedger,
  readStatusAfter,
  readTargetStatus,
  appliedRowsSql,
  durationThroughTransaction,
  progressRowSql,
  recordProgress,
  rolledBackRowsSql,
  sqlLiteral,
  type LedgerStatus,
  type TargetFacts,
} from "../ledger";
import { asConnectionError as connectionFailure, connect, DEFAULT_CONNECT_TIMEOUT_MS, redactSecrets, withConnection, withDeadline, withoutRowValues } from "../connection/connect";
import { describeBlockers, describeRetry, ExecutorError, type Blocker } from "./errors";
import { assertNotTransactionPooler } from "./pooler";
import { backupStep, type BackupEvent, type BackupSetting, type BackupStep, type BackupSummary } from "./backup";
import { selectForApply, selectForRollback, type Unit } from "./selection";

export interface ExecutorOptions {
  /** The longest one attempt may wait for a lock (ms): attempts start shorter and ramp up to it. */
  lockTimeoutMs: number;
  /** The first attempt's lock wait (ms); each retry doubles it, up to lockTimeoutMs. */
  initialLockTimeoutMs: number;
  /** 0 = no limit. Index builds on big tables take long: raise with care. */
  statementTimeoutMs: number;
  /** Retries after a lock timeout, per unit of work. */
  maxRetries: number;
  /** First pause between attempts (ms); doubles per retry, jittered, up to maxRetryDelayMs. */
  retryBaseDelayMs: number;
  /** Longest pause between attempts: how late the apply may go through after a blocker ends. */
  maxRetryDelayMs: number;
  /** Bound on connecting to the target (ms). */
  connectTimeoutMs: number;
}

export const DEFAULT_EXECUTOR_OPTIONS: ExecutorOptions = {
  lockTimeoutMs: 2000,
  initialLockTimeoutMs: 100,
  statementTimeoutMs: 0,
  maxRetries: 30,
  retryBaseDelayMs: 200,
  maxRetryDelayMs: 1000,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
};

export type RunEvent =
  | { type: "run_started"; runId: string; direction: "up" | "down"; migrations: string[]; statements: number }
  | { type: "migration_started"; tag: string; n: number; of: number; transactional: boolean }
  | { type: "statement_finished"; tag: string; statement: number; of: number; done: number; total: number; durationMs: number; summary: string }
  | { type: "statement_skipped"; tag: string; statement: number; of: number; done: number; total: number; summary: string; reason: string }
  | {
      type: "retry";
      tag: string;
      statement: number;
      attempt: number;
      maxRetries: number;
      delayMs: number;
      /** How long the attempt that gave up waited for its lock, and how long the next may wait. */
      lockTimeoutMs: number;
      nextLockTimeoutMs: number;
      reason: string;
      blockers: Blocker[];
      /** The retry line as the CLI and the run log show it (names the blocker). */
      message: string;
    }
  | { type: "invalid_index_dropped"; tag: string; index: string; reason: string }
  | { type: "checksum_accepted"; tag: string; from: string; to: string }
  | { type: "migration_finished"; tag: string; durationMs: number }
  | { type: "run_finished"; runId: string; migrations: string[]; durationMs: number }
  | { type: "run_failed"; runId: string; error: ReturnType<ExecutorError["toJSON"]> }
  | BackupEvent;

export type EventSink = (event: RunEvent & { at: Date }) => void | Promise<void>;

/** What a step run before each migration (a backup, a check) gets to see. */
export interface MigrationStep {
  tag: string;
  direction: "up" | "down";
  script: SqlScript;
  /** The run's own session on the target (holds the apply lock). */
  sql: postgres.Sql;
  runId: string;
  emit: (event: RunEvent) => Promise<void>;
}

export interface RunParams {
  url: string;
  catalog: Catalog;
  /** Who is acting, as it should appear in the ledger ("ana@clinic" or "cli:root"). */
  actor: string;
  runId?: string;
  options?: Partial<ExecutorOptions>;
  onEvent?: EventSink;
  /** Data a migration destroys is backed up first (backup.ts) unless this declines it, which is recorded. */
  backup?: BackupSetting;
  /** Runs before each migration's first statement, under the apply lock; throwing stops the run there. */
  beforeMigration?: (step: MigrationStep) => Promise<void>;
  /** Names the variable to set when the URL turns out to go through a transaction pooler (for the refusal). */
  directUrlHint?: string;
  /**
   * The target is a throw-away copy (a rehearsal): nothing will resume an interrupted run there, so
   * the progress rows that make an interruption read as partially applied are not written.
   */
  throwAway?: boolean;
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
  /** What was backed up before destructive migrations, and restored by rollbacks. */
  backups: BackupSummary;
}

/** Fixed advisory lock (classid, objid) every apply and rollback on a target database takes. */
const APPLY_LOCK = [736120, 1] as const;

/** Whether any session holds the target's apply lock right now (a run is in progress there). */
export async function applyLockHeld(url: string): Promise<boolean> {
  try {
    return await withConnection(url, { application: "migration-console lock check", fetchTypes: false }, async (sql) => {
      const [row] = await sql<{ held: boolean }[]>`
        select exists (
          select 1 from pg_locks
          where locktype = 'advisory' and classid = ${APPLY_LOCK[0]} and objid = ${APPLY_LOCK[1]} and granted
            and database = (select oid from pg_database where datname = current_database())
        ) as held`;
      return row!.held;
    });
  } catch (e) {
    throw asConnectionError(e);
  }
}

/** The target's migration status, partially applied migrations included. */
export async function readStatus(url: string, catalog: Catalog, options: { connectTimeoutMs?: number } = {}): Promise<LedgerStatus> {
  try {
    return await withConnection(url, { application: "migration-console status", connectTimeoutMs: options.connectTimeoutMs, fetchTypes: false }, (sql) => readTargetStatus(sql, catalog));
  } catch (e) {
    throw asConnectionError(e);
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
  backup: BackupStep;
  /** Index states and progress read at the start, for resuming an interrupted migration. */
  facts: TargetFacts;
  status: LedgerStatus;
  /** The lock_timeout the session has now (autocommit statements use it). */
  sessionLockTimeoutMs: number;
  /** The lock_timeout the current attempt may wait (transactions set it locally). */
  attemptLockTimeoutMs: number;
  /** A lock wait has timed out in this run: from then on a watcher names blockers while statements wait. */
  contended: boolean;
  /** Whether the session's connection closed since the run took its lock (postgres.js would reconnect without it). */
  lost: () => boolean;
  /** Settles when that connection closes: what postgres.js queued behind its pipeline then never will. */
  gone: Promise<void>;
  throwAway: boolean;
}

async function run(
  params: RunParams,
  direction: "up" | "down",
  select: (status: LedgerStatus) => Unit[],
  prepare?: (s: Session, status: LedgerStatus) => Promise<void>,
): Promise<RunResult> {
  const runId = params.runId ?? randomUUID();
  const options = { ...DEFAULT_EXECUTOR_OPTIONS, ...params.options };
  const initialLockTimeoutMs = Math.min(options.initialLockTimeoutMs, options.lockTimeoutMs);
  const started = performance.now();
  // No prepared statements: they are session state too, and would outlive the run on a pooled server connection.
  let sessionClosed = false;
  let sessionGone!: () => void;
  const gone = new Promise<void>((resolve) => (sessionGone = resolve));
  const sql = connect(params.url, {
    application: `migration-console ${runId} ${params.actor}`,
    connectTimeoutMs: options.connectTimeoutMs,
    prepare: false,
    fetchTypes: false,
    recycle: false,
    onClose: () => {
      sessionClosed = true;
      sessionGone();
    },
  });
  const monitor = connect(params.url, { application: `migration-console monitor ${runId}`, connectTimeoutMs: options.connectTimeoutMs, prepare: false, fetchTypes: false });
  // A sink that fails (the console's store went away) must not decide a migration's fate half-way:
  // its statements may be on the wire with their COMMIT. The failure is kept, and the run stops at
  // the next migration boundary, saying what was applied (logFailure).
  let sinkFailure: { error: unknown; event: RunEvent["type"] } | null = null;
  const emit = async (event: RunEvent) => {
    // Once failed, the sink is not called again but for the run's failure: each call could wait out
    // the store's timeout, with a transaction (and its locks) open on the target meanwhile.
    if (sinkFailure && event.type !== "run_failed") return;
    try {
      await params.onEvent?.({ ...event, at: new Date() });
    } catch (error) {
      sinkFailure ??= { error, event: event.type };
    }
  };
  const applied: string[] = [];
  const assertLogWritten = (next: string | null) => {
    if (sinkFailure) throw logFailure(sinkFailure, direction, applied, next);
  };
  let locked = false;
  let connectionBroken = false;
  let released = false;
  let sessionChanged = false;
  let direct = false;
  try {
    const probe = await assertNotTransactionPooler(sql, monitor, { connectTimeoutMs: options.connectTimeoutMs, directUrlHint: params.directUrlHint }).catch((e: unknown) => {
      throw asConnectionError(e);
    });
    const pid = probe.pid;
    direct = probe.direct;
    // Session-level on purpose: autocommit statements (CONCURRENTLY) cannot take SET LOCAL. Reset
    // before the connection is released (finally, below); the pooler probe guarantees the session is ours alone.
    // client_connection_check_interval: if this process dies (SIGKILL, lost host), the server would
    // otherwise only notice once the current statement ends (an index build can take hours).
    // The apply lock is tried in the same round trip as the settings and the status read; those only
    // read, and the status is used only once the lock is ours.
    sessionChanged = true;
    const { facts, status, tablesExist, selected } = await readStatusAfter(
      sql,
      params.catalog,
      [`SET lock_timeout = ${initialLockTimeoutMs}`, `SET statement_timeout = ${options.statementTimeoutMs}`, `SET client_connection_check_interval = 1000`],
      [`SELECT pg_try_advisory_lock(${APPLY_LOCK[0]}, ${APPLY_LOCK[1]}) AS locked`],
    );
    locked = (selected[0] as { locked: boolean }[])[0]!.locked;
    if (!locked) await refuseLocked(sql);
    const session: Session = {
      sql,
      monitor,
      pid,
      runId,
      actor: params.actor,
      options,
      emit,
      backup: backupStep({ runId, actor: params.actor, setting: params.backup, emit }),
      facts,
      status,
      sessionLockTimeoutMs: initialLockTimeoutMs,
      attemptLockTimeoutMs: initialLockTimeoutMs,
      contended: false,
      lost: () => sessionClosed,
      gone,
      throwAway: params.throwAway ?? false,
    };
    // Every refusal comes before the first write, the ledger tables included.
    const units = select(status);
    refuseTransactionControl(units);
    if (!tablesExist) await ensureLedger(sql);
    await prepare?.(session, status);
    const total = units.reduce((n, u) => n + u.script.statements.length, 0);
    await emit({ type: "run_started", runId, direction, migrations: units.map((u) => u.migration.tag), statements: total });
    let done = 0;
    for (const [i, unit] of units.entries()) {
      assertLogWritten(unit.migration.tag);
      await params.beforeMigration?.({ tag: unit.migration.tag, direction, script: unit.script, sql, runId, emit });
      done = await runUnit(session, unit, direction, { n: i + 1, of: units.length, done, total });
      applied.push(unit.migration.tag);
    }
    assertLogWritten(null);
    // On a direct connection the lock goes with the final read, so the run is over without waiting
    // for the server to end the session (it releases nothing else: the settings die with it).
    const unlock = `SELECT pg_advisory_unlock(${APPLY_LOCK[0]}, ${APPLY_LOCK[1]})`;
    const after = units.length === 0 ? status : (await ensureAndReadStatus(sql, params.catalog, [], { ensure: false, then: direct ? [unlock] : [] })).status;
    if (direct && units.length > 0) released = true;
    const durationMs = Math.round(performance.now() - started);
    await emit({ type: "run_finished", runId, migrations: units.map((u) => u.migration.tag), durationMs });
    return { runId, direction, migrations: units.map((u) => u.migration.tag), durationMs, status: after, backups: session.backup.summary() };
  } catch (e) {
    const error = e instanceof ExecutorError ? e : asConnectionError(e);
    // A reset can be reported before the close: nothing would answer the ending either.
    connectionBroken = ["unreachable", "timeout"].includes(error.code);
    await emit({ type: "run_failed", runId, error: error.toJSON() }).catch(() => {});
    throw error;
  } finally {
    // Nothing this run set or locked may outlive it on a connection someone else could get next: a
    // session pooler hands the server connection on. A direct connection ends with ours, and with it
    // the lock and the settings.
    if ((sessionChanged || locked) && !direct) {
      await withDeadline(
        sql
          .unsafe(
            [
              "RESET lock_timeout",
              "RESET statement_timeout",
              "RESET client_connection_check_interval",
              ...(locked ? [`SELECT pg_advisory_unlock(${APPLY_LOCK[0]}, ${APPLY_LOCK[1]})`] : []),
            ].join(";\n"),
          )
          .simple(),
        5_000,
      ).catch(() => {});
    }
    // A lost session has nothing left to finish: what was queued behind the loss never will be.
    const closed = Promise.all([sql.end({ timeout: sessionClosed || connectionBroken ? 0 : 5 }), monitor.end({ timeout: 5 })]);
    if (released) closed.catch(() => {});
    else await closed;
  }
}

/** A failure to connect or talk to the target, as an ExecutorError with the connection's own code. */
export function asConnectionError(e: unknown): ExecutorError {
  if (e instanceof ExecutorError) return e;
  const connection = connectionFailure(e);
  if (connection) {
    const what = connection.code === "unreachable" || connection.code === "timeout" ? "The target database cannot be reached" : "The target database refused the connection";
    const sqlstate = connection.cause_code && /^[0-9A-Z]{5}$/.test(connection.cause_code) ? connection.cause_code : undefined;
    return new ExecutorError(connection.code, `${what}: ${connection.message}`, sqlstate ? { sqlstate } : {});
  }
  const err = e as { code?: string; message?: string };
  if (err.code && /^[0-9A-Z]{5}$/.test(err.code)) {
    return new ExecutorError("sql_error", withoutRowValues({ ...err, message: err.message ?? "SQL error" }).message, { sqlstate: err.code });
  }
  return new ExecutorError("unreachable", `The target database cannot be reached: ${redactSecrets(err.message ?? String(e))}`);
}

/** The run stopped because its events could not be recorded: what it did before that is in the target's ledger. */
function logFailure(failure: { error: unknown; event: RunEvent["type"] }, direction: "up" | "down", done: string[], next: string | null): ExecutorError {
  const reason = redactSecrets((failure.error as Error)?.message ?? String(failure.error));
  const verb = direction === "up" ? "applied" : "rolled back";
  const did = done.length ? `${done.join(", ")} ${done.length === 1 ? "was" : "were"} ${verb} and recorded in the target's ledger` : `nothing was ${verb}`;
  const stopped = next ? `the run stopped before ${next}` : "the run stopped after its last migration";
  return new ExecutorError("run_log_failed", `The run log could not be written (at ${failure.event}: ${reason}); ${did}, and ${stopped}.`, {
    ...(next ? { tag: next } : {}),
    leftBehind: `${did[0]!.toUpperCase()}${did.slice(1)}; ${next ? `${next} and what follows it did not run` : "nothing else was pending"}. The target's status is the truth: check it before applying again.`,
  });
}

/** Another session holds the target's apply lock: refused, naming it. */
async function refuseLocked(sql: postgres.Sql): Promise<never> {
  const [holder] = await sql<{ pid: number; application_name: string | null; backend_start: Date | null }[]>`
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
  /** Restores backups (on rollback) in the transaction, and writes the ledger rows that commit with it. */
  const record = async (tx: postgres.ReservedSql): Promise<Sent<unknown>> => {
    await session.backup.inside(tx, unit, direction);
    const written = tx.unsafe(direction === "up" ? appliedRowsSql(ledgerEntry()) : rolledBackRowsSql(ledgerEntry())).simple();
    return sent(written.catch((e: unknown) => {
      throw ledgerWriteFailure(e, script.file, migration.tag, direction === "up" ? "as applied" : "as rolled back", true);
    }));
  };
  await session.backup.before(session.sql, unit, direction);

  // A migration that commits piece by piece records how far it got, so an interruption reads as
  // partially applied and the next apply resumes after what already committed.
  const tracked = direction === "up" && !fullyTransactional && !session.throwAway;
  const interrupted = tracked ? (session.status.migrations.find((m) => m.tag === migration.tag)?.partial ?? null) : null;
  const resumeFrom = interrupted?.statementsDone ?? 0;
  const progressRow = (statementsDone: number) => ({
    tag: migration.tag,
    hash: migration.checksum,
    createdAt: migration.when,
    runId: session.runId,
    statementsDone,
    statementsTotal: script.statements.length,
  });
  // Progress writes are pipelined ahead of the next statement on the same connection: no round trip of their own.
  const progressWrites: Promise<unknown>[] = [];
  const noteProgress = (statementsDone: number) => {
    const write = recordProgress(session.sql, progressRow(statementsDone)).then(
      () => undefined,
      (e: unknown) => {
        throw ledgerWriteFailure(e, script.file, migration.tag, "with how far it got", false);
      },
    );
    write.catch(() => {});
    progressWrites.push(write);
  };
  if (tracked) noteProgress(resumeFrom);
  const namedIndexes = script.statements.flatMap((st) => (st.analysis.concurrentIndex?.name ? [st.analysis.concurrentIndex] : []));
  const beforeRecord = async () => {
    await Promise.all(progressWrites);
    if (namedIndexes.length > 0) await assertIndexesValid(session, script, migration.tag, namedIndexes);
  };

  let done = progress.done;
  const builtIndexes: string[] = [];
  /** Committed statements a failure cannot take back (this migration's index builds are dropped instead). */
  const kept: string[] = [];
  const invalidLeft = new Set<string>();
  /** An autocommit statement whose answer was lost with the connection: PostgreSQL may have run it to the end. */
  let lostDuring: string | null = null;
  /** Whether the transaction under way writes a ledger or progress row that commits with it (says, in status, whether it did). */
  let recordsItself = true;
  try {
    for (const [p, part] of parts.entries()) {
      assertSessionKept(session);
      const isLast = p === parts.length - 1;
      const through = part.statements.at(-1)!.index + 1;
      // A named index build is checked by its index instead (runAutocommit): valid, kept; gone or invalid, rebuilt.
      // An unnamed one cannot be found again, and building it again would make a second index.
      const alreadyCommitted = part.statements.every((st) => st.index < resumeFrom) && (part.transactional || !part.statements[0]!.analysis.concurrentIndex?.name);
      if (alreadyCommitted) {
        for (const statement of part.statements) {
          done += 1;
          await session.emit({ type: "statement_skipped", tag: migration.tag, statement: statement.index + 1, of: script.statements.length, done, total: progress.total, summary: statement.analysis.summary, reason: "committed by the interrupted run" });
        }
        if (isLast) {
          await beforeRecord();
          await inTransaction(session, { tag: migration.tag, file: script.file }, record);
        }
        continue;
      }
      if (part.transactional) {
        if (isLast) await beforeRecord();
        // The transaction takes the connection for itself, ahead of what is queued on it: a progress
        // row still waiting would land after the transaction's own and say less had committed.
        else await Promise.all(progressWrites);
        recordsItself = isLast || tracked;
        await withLockRetries(session, script, migration.tag, part.statements[0]!, async () => {
          const restoresAfter = isLast && direction === "down";
          // The migration's time until this transaction's BEGIN goes out; the server's clock counts from there.
          const beforeTransactionMs = performance.now() - started;
          done = await inTransaction(session, { tag: migration.tag, file: script.file }, async (tx) => {
            const preamble = session.attemptLockTimeoutMs !== session.sessionLockTimeoutMs ? [`SET LOCAL lock_timeout = ${session.attemptLockTimeoutMs}`] : [];
            // The ledger row commits with the migration's last transaction, or not at all. An apply's
            // row (and a progress row) goes out right behind the statements, its time read off the
            // server's clock.
            const behind =
              isLast && direction === "up"
                ? { rows: [appliedRowsSql({ ...ledgerEntry(), durationMs: durationThroughTransaction(beforeTransactionMs) })], as: "as applied" }
                : !isLast && tracked
                  ? { rows: [progressRowSql(progressRow(through))], as: "with how far it got" }
                  : { rows: [], as: "" };
            // The answers, read (and reported) as they come.
            const answers = sent(executeInTransaction(session, tx, script, migration.tag, part.statements, { preamble, behind }, { done, total: progress.total }));
            // A rollback restores its backups once the statements are done. Otherwise the COMMIT goes
            // out right behind everything else (inTransaction).
            if (restoresAfter) {
              const statementsDone = await untilLost(session, answers.answered);
              // The run log was written in between: a session lost meanwhile must not be written to
              // (postgres.js would write to the closed socket, or to a new session outside the transaction).
              assertSessionKept(session);
              await (await record(tx)).answered;
              return sent(Promise.resolve(statementsDone));
            }
            return answers;
          });
        });
        recordsItself = true;
        kept.push(...part.statements.map((st) => st.analysis.summary));
      } else {
        const statement = part.statements[0]!;
        const outcome = await runAutocommit(session, script, migration.tag, statement, { done, total: progress.total }, invalidLeft, { resuming: resumeFrom > 0, interruptedRun: Boolean(interrupted?.runId) }).catch((e: unknown) => {
          if (e instanceof ExecutorError && statementInDoubt.has(e)) lostDuring = statement.analysis.summary;
          throw e;
        });
        if (outcome.built) builtIndexes.push(outcome.built);
        else if (!outcome.skipped) kept.push(statement.analysis.summary);
        done += 1;
        if (isLast) {
          await beforeRecord();
          await inTransaction(session, { tag: migration.tag, file: script.file }, record);
          // A named index build that committed is told by its valid index (ledger/status.ts), so it writes no progress row.
        } else if (tracked && !statement.analysis.concurrentIndex?.name) noteProgress(through);
      }
    }
  } catch (caught) {
    await Promise.allSettled(progressWrites);
    // Whatever PostgreSQL or the connection failed with, the user is told which migration and what it left behind.
    if (!(caught instanceof ExecutorError) && !postgresError(caught) && !connectionFailure(caught)) throw caught;
    const e = caught instanceof ExecutorError ? caught : asConnectionError(caught);
    // After the session is lost nothing more is written: postgres.js would write on a new session,
    // without the apply lock, and a transaction whose COMMIT was on the wire may have committed the
    // migration (its ledger row with it) whose indexes would be taken back.
    const inDoubt = commitInDoubt.has(e);
    const lost = inDoubt || session.lost();
    const { dropped, remaining } = lost ? { dropped: [], remaining: builtIndexes } : await undoBuiltIndexes(session, migration.tag, builtIndexes);
    const left = [
      lostDuring ? `the connection was lost while ${lostDuring} ran, which may have completed` : null,
      kept.length ? `these statements had committed before the failure and were not undone: ${kept.join("; ")}` : null,
      remaining.length ? `indexes it built ${lost ? "were left in place, the connection being lost" : "could not be dropped"}: ${remaining.join(", ")}` : null,
      invalidLeft.size ? `an invalid index ${lost ? "may remain" : "remains"} (${[...invalidLeft].join(", ")}): what stopped the build also stopped its removal; the next apply drops it before rebuilding` : null,
    ].filter(Boolean);
    if (tracked && !lost && left.length === 0 && resumeFrom === 0) await clearProgress(session.sql, migration.when).catch(() => {});
    const droppedNote = dropped.length ? ` (indexes it had built were dropped: ${dropped.join(", ")})` : "";
    e.details.tag ??= migration.tag;
    e.details.leftBehind = inDoubt
      ? recordsItself
        ? `${migration.tag}'s transaction may have committed: the connection was lost after its COMMIT was sent, before PostgreSQL answered. What the run records commits with it, so the target's status says which${left.length ? `; besides, ${left.join("; ")}` : ""}. Check the status before applying again.`
        : `${migration.tag}'s transaction may have committed: the connection was lost after its COMMIT was sent, before PostgreSQL answered. Nothing the run records commits with that transaction, so the status cannot say: compare the target with the migration${left.length ? `; besides, ${left.join("; ")}` : ""}. ${migration.tag} ${direction === "down" ? "is still recorded as applied" : "is not recorded as applied"}.`
      : direction === "down"
        ? left.length
          ? `${migration.tag} is still recorded as applied (its rollback did not complete), but ${left.join("; ")}${droppedNote}. Compare the target with the migration before rolling back again.`
          : `${migration.tag} is still recorded as applied and the target is as it was before the rollback${droppedNote}.`
        : left.length
          ? `${migration.tag} is not recorded as applied, but ${left.join("; ")}${droppedNote}. Status shows it as partially applied; the next apply completes it.`
          : `${migration.tag} is not recorded as applied and the target is as it was before it${droppedNote}.`;
    throw e;
  }
  await session.backup.after();
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
    // Simple protocol, as psql sends it: one message, no prepared statement left on the server.
    await conn.unsafe(statement.sql).simple();
  } catch (e) {
    throw sqlFailure(session, e, script, tag, statement, stopWatching());
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

/**
 * A transaction's statements, sent together: PostgreSQL starts each as soon as the one before it
 * finished instead of waiting a round trip for us in between. Every statement is its own message,
 * so the first that fails is the one reported (the others then fail only as "transaction is
 * aborted") and progress is reported as each one finishes. Each message ends by reading the
 * server's clock, so a statement's time is what PostgreSQL spent on it (lock waits included): timed
 * here, the answers of statements sent together would be timed by when this process got to read
 * them, and a busy machine made a 200 ms statement read as 160.
 */
async function executeInTransaction(
  session: Session,
  tx: postgres.ReservedSql,
  script: SqlScript,
  tag: string,
  statements: Statement[],
  around: { preamble: string[]; behind: { rows: string[]; as: string } },
  progress: { done: number; total: number },
): Promise<number> {
  for (const text of around.preamble) tx.unsafe(text).simple().catch(() => {});
  const sent = statements.map((statement) => {
    const reply = tx
      .unsafe(`${statement.sql}\n;${SERVER_TIME_OF_MESSAGE}`)
      .simple()
      .then((results) => serverTimeOf(results as unknown as unknown[]));
    reply.catch(() => {});
    return reply;
  });
  // Sent behind the statements; each fails only as "aborted" when one of them failed.
  const behind = around.behind.rows.map((text) => {
    const reply = tx
      .unsafe(text)
      .simple()
      .catch((e: unknown) => {
        throw ledgerWriteFailure(e, script.file, tag, around.behind.as, true);
      });
    reply.catch(() => {});
    return reply;
  });
  let done = progress.done;
  for (const [k, statement] of statements.entries()) {
    // The statement starts once the one before it has answered: watch for blockers from then.
    const stopWatching = watchBlockers(session);
    let durationMs: number;
    try {
      durationMs = await sent[k]!;
    } catch (e) {
      throw sqlFailure(session, e, script, tag, statement, stopWatching());
    } finally {
      stopWatching();
    }
    done += 1;
    await session.emit({ type: "statement_finished", tag, statement: statement.index + 1, of: script.statements.length, done, total: progress.total, durationMs, summary: statement.analysis.summary });
  }
  await Promise.all(behind);
  return done;
}

/** Appended to a statement's message: how long the server spent on that message, read off its own clock. */
const SERVER_TIME_OF_MESSAGE = `select (extract(epoch from clock_timestamp() - statement_timestamp()) * 1000)::float8 as server_ms`;

/** The last result of a statement's message is its server time (whole ms, as every duration in the run log). */
function serverTimeOf(results: unknown[]): number {
  const rows = results.at(-1) as { server_ms: number }[] | undefined;
  return Math.round(rows?.[0]?.server_ms ?? 0);
}

/** Failures of a transaction whose COMMIT went out and whose answer was lost with the connection: it may have committed. */
const commitInDoubt = new WeakSet<ExecutorError>();
/** Failures of an autocommit statement whose answer was lost with the connection: it may have run. */
const statementInDoubt = new WeakSet<ExecutorError>();

/** Queries sent, and the promise of their answers (its first failure is theirs). */
interface Sent<T> {
  answered: Promise<T>;
}

/** Marks a query (or the answers of several) as sent: postgres.js sends a query only once something waits for it. */
function sent<T>(answers: Promise<T>): Sent<T> {
  answers.catch(() => {});
  return { answered: answers };
}

/**
 * A transaction on the run's session, sent as one stream: its BEGIN goes out with the first of its
 * statements rather than a round trip ahead of them, and its COMMIT right behind what `work` sent
 * without waiting for the answers. Should a statement fail, the transaction is aborted and
 * PostgreSQL answers that COMMIT with a ROLLBACK, so nothing of it commits; the statement's own
 * error is the one thrown. When `work` itself throws, the transaction is rolled back.
 *
 * The session's connection is reserved for it: postgres.js sends its queries on that connection
 * only, so after a lost connection nothing of it goes to a new one (which would run it outside the
 * transaction, without the apply lock); what was sent fails with the connection. A session that
 * was already lost is refused before anything is sent.
 */
async function inTransaction<T>(session: Session, of: { tag: string; file: string }, work: (tx: postgres.ReservedSql) => Promise<Sent<T>>): Promise<T> {
  assertSessionKept(session);
  const tx = await session.sql.reserve();
  try {
    const begun = sent(tx.unsafe("begin").simple());
    let statements: Sent<T>;
    try {
      statements = await work(tx);
    } catch (e) {
      if (!session.lost()) await untilLost(session, tx.unsafe("rollback").simple()).catch(() => {});
      throw e;
    }
    const committed = sent(tx.unsafe("commit").simple());
    try {
      // A failed statement's own error comes before the transaction's (a lost connection fails them all).
      const value = await untilLost(session, statements.answered);
      await untilLost(session, begun.answered);
      const outcome = (await untilLost(
        session,
        committed.answered.catch((e: unknown) => {
          throw commitFailure(e, of);
        }),
      )) as unknown as { command?: string };
      if (outcome.command !== "COMMIT") {
        throw new ExecutorError("sql_error", `PostgreSQL rolled the transaction back instead of committing it (it answered ${outcome.command ?? "nothing"}); nothing of it was applied.`);
      }
      return value;
    } catch (e) {
      // PostgreSQL's own error (a statement's, the COMMIT's) means nothing of it committed. Without
      // one the answers were lost with the connection, the COMMIT behind them: it may have run.
      const answered = e instanceof ExecutorError ? e.code === "sql_error" || e.code === "lock_timeout" : !connectionFailure(e);
      if (!answered) {
        const error = e instanceof ExecutorError ? e : asConnectionError(e);
        commitInDoubt.add(error);
        throw error;
      }
      throw e;
    } finally {
      // The connection goes back idle: whatever failed, the COMMIT (or its ROLLBACK) was answered first.
      await untilLost(session, committed.answered).catch(() => {});
    }
  } finally {
    // A lost connection is not handed back: postgres.js would count it as open again.
    if (!session.lost()) tx.release();
  }
}

/**
 * A COMMIT that PostgreSQL refused (a deferred constraint checked only then, a serialization
 * failure): the transaction is rolled back, and the error says so, with the migration it belongs to.
 */
function commitFailure(e: unknown, of: { tag: string; file: string }): ExecutorError {
  const err = postgresError(e);
  if (!err) return asConnectionError(e);
  // A deferred constraint's check waits for row locks like any statement: retried under the lock ramp (withLockRetries).
  if (err.code === "55P03") {
    return new ExecutorError("lock_timeout", `${path.basename(of.file)}: the COMMIT of ${of.tag}'s transaction (a deferred constraint's check) waited longer than lock_timeout for a lock, and was rolled back.`, {
      tag: of.tag,
      file: of.file,
      sqlstate: err.code,
    });
  }
  return new ExecutorError("sql_error", `${path.basename(of.file)}: PostgreSQL refused the COMMIT of ${of.tag}'s transaction, which was rolled back: ${postgresText(err)}`, {
    tag: of.tag,
    file: of.file,
    sqlstate: err.code,
  });
}

/** The run's session must be the one that took the apply lock and the settings; postgres.js would quietly reconnect. */
function assertSessionKept(session: Session): void {
  if (!session.lost()) return;
  throw sessionLost();
}

function sessionLost(): ExecutorError {
  return new ExecutorError(
    "unreachable",
    "The connection to the target was lost during the run, and with it the apply lock and the session's timeouts; the run stopped rather than go on without them. Status shows what was applied; apply again to complete it.",
  );
}

/**
 * Answers on the session's connection, or its loss: postgres.js fails what it had sent when the
 * connection closes, but what it queued behind its 100-query pipeline (the rest of a long
 * transaction, its COMMIT) is never sent, and never settles.
 */
function untilLost<T>(session: Session, answers: PromiseLike<T>): Promise<T> {
  const lost = session.gone.then((): never => {
    throw sessionLost();
  });
  return Promise.race([answers, lost]);
}

/** The lock wait attempt `attempt` (1-based) may take: short first, doubling up to the configured maximum. */
export function lockTimeoutForAttempt(options: Pick<ExecutorOptions, "lockTimeoutMs" | "initialLockTimeoutMs">, attempt: number): number {
  const initial = Math.max(1, Math.min(options.initialLockTimeoutMs, options.lockTimeoutMs));
  return Math.min(options.lockTimeoutMs, Math.round(initial * 2 ** Math.min(30, attempt - 1)));
}

/** The pause before retry `attempt`: exponential, capped, with jitter so competing sessions do not retry in step. */
export function retryDelay(options: Pick<ExecutorOptions, "retryBaseDelayMs" | "maxRetryDelayMs">, attempt: number): number {
  const cap = Math.min(options.maxRetryDelayMs, options.retryBaseDelayMs * 2 ** Math.min(30, attempt - 1));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

async function setSessionLockTimeout(session: Session, ms: number): Promise<void> {
  if (session.sessionLockTimeoutMs === ms) return;
  await session.sql.unsafe(`SET lock_timeout = ${ms}`).simple();
  session.sessionLockTimeoutMs = ms;
}

/**
 * Retries a unit of work after lock timeouts. Each attempt may wait a little longer for its lock
 * (so traffic queued behind us waits at most that long), with a jittered pause between attempts.
 * While the transaction that stopped the last attempt is still open, an attempt would only queue
 * traffic behind the same blocker again: it is sat out instead (watching the blocker, not waiting
 * in the lock queue), and the real attempt starts the moment the blocker's transaction ends.
 */
async function withLockRetries(session: Session, script: SqlScript, tag: string, first: Statement, work: () => Promise<void>): Promise<void> {
  let blockedBy: Blocker[] = [];
  let lastStatement = first.index + 1;
  for (let attempt = 1; ; attempt++) {
    // The session can be lost during the pause: the next attempt would run on a new one, without the apply lock.
    assertSessionKept(session);
    session.attemptLockTimeoutMs = lockTimeoutForAttempt(session.options, attempt);
    let failure: ExecutorError;
    const still = blockedBy.length > 0 ? await whileStillBlocked(session, blockedBy, session.attemptLockTimeoutMs) : [];
    if (still.length > 0) {
      const statement = script.statements.find((st) => st.index + 1 === lastStatement) ?? first;
      failure = lockTimeoutError(script, tag, statement, still, session.attemptLockTimeoutMs);
    } else {
      const attemptStarted = new Date();
      try {
        return await work();
      } catch (e) {
        if (!(e instanceof ExecutorError) || e.code !== "lock_timeout") throw e;
        failure = e;
      }
      if (!failure.details.blockers?.length) {
        // The watcher did not get to look (a short attempt): who holds a lock on what the statement needed, since before it started.
        const statement = script.statements.find((st) => st.index + 1 === failure.details.statement) ?? first;
        const holders = await lockHolders(session, statement, attemptStarted).catch(() => []);
        if (holders.length > 0) failure = lockTimeoutError(script, tag, statement, holders, session.attemptLockTimeoutMs);
      }
    }
    lastStatement = failure.details.statement ?? first.index + 1;
    session.contended = true;
    blockedBy = failure.details.blockers ?? [];
    if (attempt > session.options.maxRetries) throw failure;
    const delayMs = retryDelay(session.options, attempt);
    const retry = {
      tag,
      statement: lastStatement,
      attempt,
      maxRetries: session.options.maxRetries,
      delayMs,
      lockTimeoutMs: session.attemptLockTimeoutMs,
      nextLockTimeoutMs: lockTimeoutForAttempt(session.options, attempt + 1),
      blockers: blockedBy,
    };
    await session.emit({ type: "retry", ...retry, reason: failure.message, message: describeRetry(retry) });
    await new Promise((r) => setTimeout(r, delayMs));
  }
}

/**
 * Watches the blockers' transactions for up to `ms` (not queueing behind them): returns them as
 * they are then when any is still in the same transaction, or nothing as soon as all have ended.
 */
async function whileStillBlocked(session: Session, blockers: Blocker[], ms: number): Promise<Blocker[]> {
  const known = blockers.filter((b) => b.xactStart);
  if (known.length === 0) return [];
  const until = performance.now() + ms;
  const every = Math.max(25, Math.min(100, Math.floor(ms / 4)));
  for (;;) {
    let rows: Blocker[];
    try {
      rows = await activityOf(session.sql, known.map((b) => b.pid));
    } catch {
      return [];
    }
    const same = rows.filter((r) => known.some((b) => b.pid === r.pid && b.xactStart === r.xactStart));
    if (same.length === 0 || performance.now() >= until) return same;
    await new Promise((r) => setTimeout(r, Math.min(every, Math.max(1, until - performance.now()))));
  }
}

type ActivityRow = { pid: number; usename: string | null; application_name: string | null; state: string | null; query: string | null; age_ms: number | null; xact_start: string | null };

const toBlocker = (r: ActivityRow): Blocker => ({
  pid: r.pid,
  user: r.usename,
  application: r.application_name,
  state: r.state,
  query: r.query,
  ageMs: Math.round(r.age_ms ?? 0),
  xactStart: r.xact_start,
});

async function activityOf(sql: postgres.Sql, pids: number[]): Promise<Blocker[]> {
  const rows = await sql<ActivityRow[]>`
    select pid, usename, application_name, state, query,
           (extract(epoch from clock_timestamp() - coalesce(xact_start, query_start, backend_start)) * 1000)::float8 as age_ms,
           coalesce(xact_start, query_start)::text as xact_start
    from pg_stat_activity where pid in (select jsonb_array_elements_text(${JSON.stringify(pids)}::text::jsonb)::int)`;
  return rows.map(toBlocker);
}

/** Sessions other than ours holding a lock on a relation the statement locks, in a transaction older than `since`. */
async function lockHolders(session: Session, statement: Statement, since: Date): Promise<Blocker[]> {
  const relations = statement.analysis.locks.map((l) => `${quoteIdent(l.relation.schema)}.${quoteIdent(l.relation.name)}`);
  if (relations.length === 0) return [];
  const rows = await session.sql<ActivityRow[]>`
    select distinct a.pid, a.usename, a.application_name, a.state, a.query,
           (extract(epoch from clock_timestamp() - coalesce(a.xact_start, a.query_start, a.backend_start)) * 1000)::float8 as age_ms,
           coalesce(a.xact_start, a.query_start)::text as xact_start
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.granted and l.pid <> pg_backend_pid() and a.application_name not like 'migration-console monitor %'
      and l.relation in (select to_regclass(x) from jsonb_array_elements_text(${JSON.stringify(relations)}::text::jsonb) x)
      and coalesce(a.xact_start, a.query_start) < ${since}`;
  return rows.map(toBlocker);
}

function lockTimeoutError(script: SqlScript, tag: string, statement: Statement, blockers: Blocker[], waitedMs: number): ExecutorError {
  return new ExecutorError(
    "lock_timeout",
    `Statement ${statement.index + 1} of ${tag} (${statement.analysis.summary}) waited longer than lock_timeout (${waitedMs} ms) for a lock held by ${describeBlockers(blockers)}.`,
    { tag, file: script.file, statement: statement.index + 1, line: statement.line, column: statement.column, sqlstate: "55P03", blockers },
  );
}

interface IndexState {
  exists: boolean;
  valid: boolean;
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
  await sql.unsafe(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(schema)}.${quoteIdent(name)}`).simple();
}

/**
 * One non-transactional statement. For CREATE INDEX CONCURRENTLY: an invalid leftover of an
 * earlier failed attempt is dropped first (IF NOT EXISTS would otherwise keep it forever), and the
 * new index must be valid afterwards. When resuming an interrupted migration, an index that
 * already exists and is valid was built by that run: it is kept, not built again.
 */
async function runAutocommit(
  session: Session,
  script: SqlScript,
  tag: string,
  statement: Statement,
  progress: { done: number; total: number },
  invalidLeft: Set<string>,
  context: { resuming: boolean; interruptedRun: boolean },
): Promise<{ built: string | null; skipped: boolean }> {
  const index = statement.analysis.concurrentIndex;
  const named = index?.name ? { schema: index.schema, name: index.name } : null;
  const qualified = named ? `${named.schema}.${named.name}` : null;
  let existedValid: boolean | null = null;
  let attempt = 0;

  if (named && context.resuming && session.facts.indexes.get(qualified!)?.valid) {
    await session.emit({ type: "statement_skipped", tag, statement: statement.index + 1, of: script.statements.length, done: progress.done + 1, total: progress.total, summary: statement.analysis.summary, reason: context.interruptedRun ? `${qualified} was built by the interrupted run and is valid` : `${qualified} already exists and is valid (no interrupted run of the console recorded building it)` });
    return { built: null, skipped: true };
  }

  await withLockRetries(session, script, tag, statement, async () => {
    await setSessionLockTimeout(session, session.attemptLockTimeoutMs);
    if (named) {
      // Before every attempt, not once: a timed-out attempt can leave one too. The first uses the run's up-front read.
      const known = session.facts.indexes.get(qualified!);
      const before = attempt++ === 0 ? { exists: Boolean(known), valid: Boolean(known?.valid) } : await indexState(session.sql, named.schema, named.name);
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
      // Its answer was lost with the connection (a reset can be reported before the close: the code says so
      // first): PostgreSQL may have run it to the end. A named index build is told by its index instead.
      const cut = session.lost() || (e instanceof ExecutorError && (e.code === "unreachable" || e.code === "timeout"));
      if (cut && !named && e instanceof ExecutorError) statementInDoubt.add(e);
      // After a lost session nothing is written (postgres.js would reconnect, without the apply lock or
      // lock_timeout): the build's index, if it got that far, is left for the next apply to drop.
      if (named && session.lost()) invalidLeft.add(qualified!);
      else if (named) {
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

  // A build that succeeded left a valid index; the migration checks all of them at once before it is recorded.
  if (!named) return { built: null, skipped: false };
  return { built: existedValid ? null : qualified, skipped: false };
}

/** Every named CONCURRENTLY index of the migration must be valid before it is recorded as applied (one round trip). */
async function assertIndexesValid(session: Session, script: SqlScript, tag: string, indexes: { schema: string; name: string | null }[]): Promise<void> {
  const names = indexes.map((i) => `${i.schema}.${i.name}`);
  const rows = await session.sql.unsafe<{ schema: string; name: string }[]>(
    `select n.nspname as schema, c.relname as name
     from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname || '.' || c.relname in (select jsonb_array_elements_text(${sqlLiteral(JSON.stringify(names))}::jsonb))
       and not (i.indisvalid and i.indisready)`,
  ).simple();
  if (rows.length === 0) return;
  for (const r of rows) await dropIndex(session.sql, r.schema, r.name).catch(() => {});
  const statement = script.statements.find((st) => st.analysis.concurrentIndex?.name === rows[0]!.name);
  throw new ExecutorError("invalid_index", `${rows.map((r) => `${r.schema}.${r.name}`).join(", ")} was built but is not valid; it was dropped.`, {
    tag,
    file: script.file,
    ...(statement ? { statement: statement.index + 1, line: statement.line, column: statement.column } : {}),
  });
}

/** Catalog work done on a statement's behalf, failing as the statement would (a lock timeout names its blocker and is retried). */
async function onBehalfOf(session: Session, script: SqlScript, tag: string, statement: Statement, work: () => Promise<void>): Promise<void> {
  const stopWatching = watchBlockers(session);
  try {
    await work();
  } catch (e) {
    throw sqlFailure(session, e, script, tag, statement, stopWatching());
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
  // A first attempt is short: who held the lock is found after it (lockHolders), so a statement
  // that meets no contention never opens the monitor's connection.
  if (!session.contended) return () => last;
  // Looks only once the statement has waited a good part of its attempt: most statements finish
  // sooner, and then the monitor never even connects.
  const lockWait = session.attemptLockTimeoutMs;
  const firstLook = Math.max(50, Math.floor(lockWait * 0.6));
  const every = Math.max(50, Math.floor(lockWait / 4));
  const look = async () => {
    if (stopped) return;
    try {
      const rows = await session.monitor<ActivityRow[]>`
        select pid, usename, application_name, state, query,
               (extract(epoch from clock_timestamp() - coalesce(xact_start, query_start, backend_start)) * 1000)::float8 as age_ms,
               coalesce(xact_start, query_start)::text as xact_start
        from pg_stat_activity where pid = any(pg_blocking_pids(${session.pid}))`;
      if (rows.length > 0) last = rows.map(toBlocker);
    } catch {
      // Monitoring is best effort; the statement's own outcome decides.
    }
    if (!stopped) timer = setTimeout(look, every);
  };
  let timer = setTimeout(look, firstLook);
  return () => {
    stopped = true;
    clearTimeout(timer);
    return last;
  };
}

/** Maps a PostgreSQL error to the file, line and column of the statement that raised it. */
function sqlFailure(session: Session, e: unknown, script: SqlScript, tag: string, statement: Statement, blockers: Blocker[]): ExecutorError {
  const err = postgresError(e);
  if (!err) return asConnectionError(e);
  let line = statement.line;
  let column = statement.column;
  const position = Number(err.position);
  if (Number.isInteger(position) && position > 0) {
    const before = statement.sql.slice(0, position - 1).split("\n");
    line = statement.line + before.length - 1;
    column = before.length === 1 ? statement.column + before[0]!.length : before.at(-1)!.length + 1;
  }
  const where = { tag, file: script.file, statement: statement.index + 1, line, column, sqlstate: err.code };
  if (err.code === "55P03") return lockTimeoutError(script, tag, statement, blockers, session.attemptLockTimeoutMs);
  return new ExecutorError("sql_error", `${script.file.split("/").pop()}:${line}:${column}: ${postgresText(err)}`, where);
}

type PostgresError = { code: string; message?: string; position?: string; detail?: string; hint?: string };

/** PostgreSQL's own error (an SQLSTATE, not a lost or refused connection), or null. */
function postgresError(e: unknown): PostgresError | null {
  const err = e as Partial<PostgresError>;
  if (!err?.code || !/^[0-9A-Z]{5}$/.test(err.code) || connectionFailure(e)) return null;
  return err as PostgresError;
}

/**
 * PostgreSQL refused the run's own row in the target's ledger (or progress table) after the
 * migration's statements ran: something the migration did in its session (a SET ROLE, a
 * search_path) or to those tables stops the write. Within a transaction that rolls it back.
 */
function ledgerWriteFailure(e: unknown, file: string, tag: string, recorded: string, inTransaction: boolean): ExecutorError {
  const err = postgresError(e);
  if (!err) return asConnectionError(e);
  const outcome = inTransaction ? ", so its transaction was rolled back" : "";
  return new ExecutorError(
    "sql_error",
    `${path.basename(file)}: PostgreSQL refused to record ${tag} ${recorded} in the target's ledger${outcome}: ${postgresText(err)}. A statement of the migration may have changed what the session can write (SET ROLE, SET search_path) or the ledger tables themselves.`,
    { tag, file, sqlstate: err.code },
  );
}

/** PostgreSQL's message with its DETAIL and HINT in closing parentheses, without the data values it quotes. */
function postgresText(err: PostgresError): string {
  const { message, detail } = withoutRowValues(err);
  const extra = [detail && `Detail: ${detail}`, err.hint && `Hint: ${err.hint}`].filter(Boolean).join(" ");
  return `${message}${extra ? ` (${extra})` : ""}`;
}
