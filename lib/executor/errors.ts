/** Why an apply or rollback stopped, in a form the CLI, the run log and the UI can all show. */
export type ExecutorErrorCode =
  | "target_locked"
  | "unreachable"
  | "checksum_mismatch"
  | "out_of_order"
  | "unknown_in_ledger"
  | "no_such_migration"
  | "wrong_direction"
  | "missing_down"
  | "lock_timeout"
  | "sql_error"
  | "transaction_control"
  | "invalid_index";

export interface Blocker {
  pid: number;
  user: string | null;
  application: string | null;
  state: string | null;
  query: string | null;
  ageMs: number;
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

export function describeBlockers(blockers: Blocker[]): string {
  if (blockers.length === 0) return "the blocking session ended before it could be identified";
  return blockers
    .map((b) => `pid ${b.pid}${b.user ? ` (${b.user}${b.application ? `, ${b.application}` : ""})` : ""}, ${b.state ?? "unknown state"} for ${(b.ageMs / 1000).toFixed(1)} s: ${oneLine(b.query)}`)
    .join("; ");
}

function oneLine(query: string | null): string {
  if (!query) return "(no query text)";
  const flat = query.replace(/\s+/g, " ").trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
