/** Why an apply or rollback stopped, in a form the CLI, the run log and the UI can all show. */
export type ExecutorErrorCode =
  | "target_locked"
  | "unreachable"
  | "auth_failed"
  | "database_missing"
  | "timeout"
  | "transaction_pooler"
  | "checksum_mismatch"
  | "out_of_order"
  | "unknown_in_ledger"
  | "no_such_migration"
  | "wrong_direction"
  | "missing_down"
  | "lock_timeout"
  | "sql_error"
  | "transaction_control"
  | "invalid_index"
  | "backup_failed"
  | "restore_failed"
  | "run_log_failed";

export interface Blocker {
  pid: number;
  user: string | null;
  application: string | null;
  state: string | null;
  query: string | null;
  ageMs: number;
  /** When its transaction (or, outside one, its statement) began: tells the same transaction from a later one of the same session. */
  xactStart?: string | null;
}

export interface ExecutorErrorDetails {
  tag?: string;
  file?: string;
  /** 1-based statement number within the file. */
  statement?: number;
  line?: number;
  column?: number;
  sqlstate?: string;
  blockers?: Blocker[];
  holder?: { pid: number; application: string | null; since: Date | null };
  tags?: string[];
  /** What the failure left behind, in words (always says whether the target changed). */
  leftBehind?: string;
}

export class ExecutorError extends Error {
  constructor(
    public readonly code: ExecutorErrorCode,
    message: string,
    public readonly details: ExecutorErrorDetails = {},
  ) {
    super(message);
    this.name = "ExecutorError";
  }

  toJSON() {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** One retry line: what waited, how long the next attempt may wait, and who holds the lock. */
export function describeRetry(e: { tag: string; statement: number; attempt: number; maxRetries: number; delayMs: number; lockTimeoutMs: number; nextLockTimeoutMs: number; blockers: Blocker[] }): string {
  return `Lock wait on ${e.tag} statement ${e.statement} gave up after ${e.lockTimeoutMs} ms, blocked by ${describeBlockers(e.blockers)}; retry ${e.attempt}/${e.maxRetries} in ${e.delayMs} ms (waiting at most ${e.nextLockTimeoutMs} ms)`;
}

export function describeBlockers(blockers: Blocker[]): string {
  if (blockers.length === 0) return "the blocking session ended before it could be identified";
  return blockers
    .map((b) => `pid ${b.pid} (${b.user ? `${b.user}, ` : ""}application "${b.application || "(none)"}"), ${b.state ?? "unknown state"} for ${(b.ageMs / 1000).toFixed(1)} s: ${oneLine(b.query)}`)
    .join("; ");
}

function oneLine(query: string | null): string {
  if (!query) return "(no query text)";
  const flat = query.replace(/\s+/g, " ").trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
