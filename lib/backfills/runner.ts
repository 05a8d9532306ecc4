/**
 * The batch runner: walks the key range of a declared backfill, one short transaction per batch
 * with its own lock and statement timeouts, tuning the batch size toward the target duration and
 * waiting while the target is under pressure.
 *
 * Crash safety: a batch commits on the target, then `saveBatch` records its cursor in the console's
 * store, and the next batch starts only after that. A worker killed between the two replays that one
 * batch from the stored cursor; the predicate (re-checked inside the UPDATE) makes the replay change
 * nothing. So every row is changed exactly once, whatever is killed when.
 */
import type postgres from "postgres";
import { asConnectionError, redactSecrets, withoutRowValues } from "../connection/connect";
import { AppError, sqlState } from "../errors";
import type { BackfillDefinition, BatchTuning } from "./definition";
import { readPressure, type Pressure, type PressureLimits } from "./pressure";
import { batchStatements } from "./sql";
import { shrinkAfterTimeout, tuneBatchSize, type TunerState } from "./tuning";

export interface BatchResult {
  /** The last key the batch walked (as text); the cursor to resume after. */
  cursor: string;
  walked: number;
  changed: number;
  ms: number;
  /** The size the next batch will have. */
  nextSize: number;
  rowsPerSecond: number;
}

export interface RunnerHooks {
  /** The operator's wish, read before every batch. */
  control(): Promise<"run" | "pause" | "cancel">;
  /** Durably records a committed batch; the next batch waits for it. */
  saveBatch(batch: BatchResult): Promise<void>;
  /** Pressure began (with why) or ended (null). */
  pressure(pressure: Pressure | null): Promise<void>;
  /** A batch hit its lock or statement timeout, a deadlock or a lost connection, and is retried smaller. */
  retry(info: { error: string; nextSize: number; attempt: number }): Promise<void>;
  /**
   * The same batch failed MAX_ATTEMPTS times in a row: asks for a pause saying why, and the runner
   * returns "paused" (resumable from its cursor). Without this hook the run fails instead.
   */
  stalled?(reason: string): Promise<void>;
}

export interface RunnerStart {
  cursor: string | null;
  batchSize: number;
  rowsPerSecond: number | null;
}

export interface RunBatchesOptions {
  sql: postgres.Sql;
  definition: BackfillDefinition;
  keyType: string;
  tuning: BatchTuning;
  limits: PressureLimits;
  start: RunnerStart;
  hooks: RunnerHooks;
  /** Stop after this many batches (rehearsals); unlimited by default. */
  maxBatches?: number;
}

export type RunnerOutcome = "done" | "paused" | "cancelled" | "batch_limit";

/**
 * What a batch is retried smaller after: its lock or statement timeout, and the application winning a
 * deadlock or a serialization conflict against it. Each rolled the batch back whole.
 */
const RETRIED = new Set(["55P03", "57014", "40P01", "40001"]);
/** Consecutive retries of one batch before the run stops. */
const MAX_ATTEMPTS = 6;
const RATE_SMOOTHING = 0.3;

export async function runBatches(o: RunBatchesOptions): Promise<RunnerOutcome> {
  const first = batchStatements(o.definition, o.keyType, false);
  const next = batchStatements(o.definition, o.keyType, true);
  let cursor = o.start.cursor;
  let tuner: TunerState = { size: o.start.batchSize, msPerRow: null };
  let rate = o.start.rowsPerSecond;
  let batches = 0;
  let attempt = 0;
  let underPressure = false;
  let lastCheck = -Infinity;

  /** A batch rolled back by the target (or its connection lost): retried smaller after a while, MAX_ATTEMPTS times. */
  const giveWay = async (e: unknown): Promise<"retry" | "stalled"> => {
    attempt++;
    if (attempt >= MAX_ATTEMPTS) {
      const reason = `A batch of ${o.definition.name} timed out, lost a deadlock or lost its connection ${attempt} times in a row, down to ${tuner.size} rows (${redactSecrets((e as Error).message)})`;
      if (!o.hooks.stalled) throw new AppError("conflict", `${reason}.`);
      await o.hooks.stalled(`${reason}. Paused at its cursor: resume when the table is quieter.`);
      return "stalled";
    }
    tuner = shrinkAfterTimeout(o.tuning, tuner);
    await o.hooks.retry({ error: redactSecrets((e as Error).message), nextSize: tuner.size, attempt });
    await sleep(Math.min(2_000, 100 * 2 ** attempt));
    return "retry";
  };

  for (;;) {
    const control = await o.hooks.control();
    if (control !== "run") return control === "pause" ? "paused" : "cancelled";
    if (o.maxBatches !== undefined && batches >= o.maxBatches) return "batch_limit";

    // Looked at before the first batch, then at most every recheckMs: between short batches a
    // pressure reading per batch would cost more than it tells.
    const due = underPressure || performance.now() - lastCheck >= o.limits.recheckMs;
    let pressure: Awaited<ReturnType<typeof readPressure>> = null;
    try {
      pressure = due ? await readPressure(o.sql, o.definition.table, o.limits) : null;
    } catch (e) {
      if (!connectionLost(e)) throw e;
      if ((await giveWay(e)) === "stalled") return "paused";
      continue;
    }
    if (due) lastCheck = performance.now();
    if (pressure) {
      if (!underPressure) await o.hooks.pressure(pressure);
      underPressure = true;
      await sleep(o.limits.recheckMs);
      continue;
    }
    if (underPressure) {
      underPressure = false;
      await o.hooks.pressure(null);
    }

    let result: { last_key: string | null; walked: number; changed: number };
    const started = performance.now();
    try {
      result = await o.sql.begin(async (tx) => {
        await tx`select set_config('lock_timeout', ${`${o.tuning.lockTimeoutMs}ms`}, true), set_config('statement_timeout', ${`${o.tuning.statementTimeoutMs}ms`}, true)`;
        const statements = cursor === null ? first : next;
        const withCursor = (p: string | number) => (cursor === null ? [p] : [cursor, p]);
        const [bound] = await tx.unsafe<{ bound: string }[]>(statements.bound, withCursor(tuner.size));
        if (bound) {
          const updated = await tx.unsafe(statements.upToBound, withCursor(bound.bound));
          return { last_key: bound.bound, walked: tuner.size, changed: updated.count };
        }
        const [rest] = await tx.unsafe<{ last_key: string | null; changed: number }[]>(statements.rest, cursor === null ? [] : [cursor]);
        return { last_key: rest!.last_key, walked: rest!.changed, changed: rest!.changed };
      });
    } catch (e) {
      if (!RETRIED.has(sqlState(e) ?? "") && !connectionLost(e)) throw batchError(o.definition, e);
      if ((await giveWay(e)) === "stalled") return "paused";
      continue;
    }
    const ms = performance.now() - started;
    attempt = 0;
    if (result.walked === 0 || result.last_key === null) return "done";

    tuner = tuneBatchSize(o.tuning, tuner, { rows: result.walked, ms });
    const batchRate = (result.changed * 1000) / Math.max(ms, 0.01);
    rate = rate === null ? batchRate : RATE_SMOOTHING * batchRate + (1 - RATE_SMOOTHING) * rate;
    cursor = result.last_key;
    batches++;
    await o.hooks.saveBatch({ cursor, walked: result.walked, changed: result.changed, ms: Math.round(ms), nextSize: tuner.size, rowsPerSecond: rate });
  }
}

/**
 * The target's session ended under the runner (a terminated backend, a restart, a network cut):
 * postgres.js opens a new one on the next query. A batch cut short rolled back, or committed before
 * the cut; either way the predicate makes its replay safe.
 */
const TERMINATED_STATES = new Set(["57P01", "57P02", "08000", "08003", "08006"]);
function connectionLost(e: unknown): boolean {
  // The client side's loss (a reset, a refused reconnect during a restart) as every connection reads it;
  // the server's own ending of the session (terminated, shutting down) on top.
  const lost = asConnectionError(e);
  return (lost !== null && (lost.code === "unreachable" || lost.code === "timeout")) || TERMINATED_STATES.has(sqlState(e) ?? "");
}

function batchError(def: BackfillDefinition, e: unknown): Error {
  const state = sqlState(e);
  if (state) return new AppError("conflict", `A batch of ${def.name} failed on the target (SQLSTATE ${state}): ${withoutRowValues(e as { code?: string; message?: string }).message}. Nothing of that batch was kept; fix ${def.file} or the data and open a new backfill deployment.`);
  return e as Error;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
