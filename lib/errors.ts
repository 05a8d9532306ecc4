/**
 * Errors a user can cause or meet, and the one mapping from any thrown value to what a user sees:
 * a code, a message that says what happened and a hint that says what to do. The web (server
 * actions, route handlers, pages), the CLI and the worker's run log all use `toErrorPayload`, so an
 * unreachable target, a stale plan, a held lock or a refused gate read the same everywhere.
 * Anything not recognised is a bug: logged on the server, shown as "Something went wrong".
 */
import { CatalogError } from "./migrations/errors";
import { ConfigError } from "./config/env";
import { ExecutorError } from "./executor/errors";
import { LintError } from "./lint/errors";
import { asConnectionError, redactSecrets, withoutRowValues } from "./connection/errors";

/** Every code a user may see, its HTTP status and, where one fits every case, what to do about it. */
export const ERRORS = {
  unauthenticated: { status: 401, hint: "Sign in again." },
  forbidden: { status: 403, hint: null },
  invalid_input: { status: 400, hint: null },
  not_found: { status: 404, hint: null },
  conflict: { status: 409, hint: null },
  unavailable: { status: 503, hint: null },
  /** A gate refused the action (approvals, freeze, role of the environment). */
  gated: { status: 403, hint: null },
  /** Production only takes what its upstream environment applied and verified. */
  promotion: { status: 403, hint: "Deploy these migrations to the upstream environment first and let its verification pass, then open the deployment again." },
  /** The stored plan no longer matches the files or the live target. */
  stale_plan: { status: 409, hint: "Recompute the plan (\"Recompute plan\" on the deployment page); it then needs its approvals again." },
  /** Another run holds the target's apply lock. */
  target_locked: { status: 409, hint: "Wait for the other run to finish, then try again." },
  lock_timeout: { status: 409, hint: "Traffic held a lock the migration needs; try again when it is quieter, or end the blocking session." },
  unreachable: { status: 503, hint: "Check that the target's PostgreSQL is running and that its URL variable is right, then try again." },
  /** Connection failures that say more than "unreachable" (lib/targets/connect). */
  timeout: { status: 504, hint: "The database accepted the connection but did not answer: check the server (or the tunnel or proxy in front of it), then try again." },
  auth_failed: { status: 503, hint: "Check the user and password in the environment's URL variable." },
  database_missing: { status: 503, hint: "Check the database name in the environment's URL variable." },
  transaction_pooler: { status: 422, hint: "Point the environment at the database's direct connection (directUrlEnv in the registry), or use a pooler in session mode." },
  transaction_control: { status: 422, hint: "Remove BEGIN/COMMIT and other transaction control from the file: the console runs each migration in a transaction of its own (CONCURRENTLY statements in autocommit)." },
  sql_error: { status: 422, hint: "Fix the migration file at the place named, regenerate or edit it, and plan again." },
  checksum_mismatch: { status: 409, hint: "An applied migration file was edited: restore it, or accept the new checksum deliberately." },
  out_of_order: { status: 409, hint: "A migration older than an applied one is pending: give it a later journal entry." },
  unknown_in_ledger: { status: 409, hint: "The target has migrations these files lack: deploy from the branch that has them." },
  no_such_migration: { status: 400, hint: null },
  wrong_direction: { status: 400, hint: null },
  missing_down: { status: 409, hint: "Write the migration's .down.sql before rolling it back." },
  invalid_index: { status: 409, hint: "Apply again: the console drops and rebuilds the invalid index." },
  backup_failed: { status: 409, hint: "Nothing was destroyed: fix what stopped the backup (space, locks, permissions on the target) and apply again." },
  restore_failed: { status: 409, hint: "The rollback was undone and the backup kept: compare the table with the copy in migration_console_backup before trying again." },
  /** The run's events could not be recorded (the console's store went away mid-run). */
  run_log_failed: { status: 503, hint: "Check that the console's store (CONSOLE_DATABASE_URL) is reachable, then look at the environment's status: what the error names as applied is recorded in the target's ledger; apply again for the rest." },
  catalog: { status: 422, hint: "Fix the migrations folder as described." },
  lint_unavailable: { status: 503, hint: "The lint could not run; reinstall dependencies (npm ci) and try again." },
  config: { status: 500, hint: "Fix the configuration as listed and restart." },
  worker_lost: { status: 500, hint: "Check the environment's status, then open a new deployment for what is still pending." },
  internal: { status: 500, hint: null },
} as const satisfies Record<string, { status: number; hint: string | null }>;

export type ErrorCode = keyof typeof ERRORS;

/** Kept for callers that only need the status of a code. */
export const ERROR_STATUS = Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])) as { [C in ErrorCode]: (typeof ERRORS)[C]["status"] };

export interface ErrorPayload {
  code: ErrorCode;
  status: number;
  message: string;
  /** What to do about it, when there is something to do. */
  hint?: string;
  /** Field-level problems for forms. */
  fields?: Record<string, string[]>;
  /** Extra facts for machines (e.g. the lock's holder, the SQL error's file and line). */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly fields?: Record<string, string[]>,
    public readonly extra: { hint?: string; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get hint(): string | undefined {
    return this.extra.hint ?? ERRORS[this.code].hint ?? undefined;
  }

  toPayload(): ErrorPayload {
    return {
      code: this.code,
      status: this.status,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.fields ? { fields: this.fields } : {}),
      ...(this.extra.details ? { details: this.extra.details } : {}),
    };
  }
}

export type Result<T> = { ok: true; data: T } | { ok: false; error: ErrorPayload };

export const UNEXPECTED_MESSAGE = "Something went wrong on the server. The failure was logged.";

export { redactSecrets };
const redact = redactSecrets;

const URL_VARIABLES = "CONSOLE_DATABASE_URL for the console's own store, SHADOW_DATABASE_URL for rehearsals, an environment's URL variable for a target";
/** What to do when a database other than a named target fails to connect. */
const CONSOLE_DATABASE_HINTS = {
  unreachable: `Check that the database's server is running and that the variable with its URL is right (${URL_VARIABLES}), then try again.`,
  auth_failed: `Check the user and password in the variable with its URL (${URL_VARIABLES}).`,
  database_missing: `Check the database name in the variable with its URL (${URL_VARIABLES}).`,
} as const;

/** The one mapping: any thrown value → what a user may see. Unexpected errors are logged, not shown. */
export function toErrorPayload(error: unknown, log: (message: string, error: unknown) => void): ErrorPayload {
  if (error instanceof AppError) return error.toPayload();
  if (error instanceof ExecutorError) {
    const { code, message, ...details } = error.toJSON();
    const hint = ERRORS[code].hint;
    return { code, status: ERRORS[code].status, message, ...(hint ? { hint } : {}), ...(Object.keys(details).length ? { details } : {}) };
  }
  if (error instanceof CatalogError) return new AppError("catalog", error.message, undefined, { details: error.file ? { file: error.file } : undefined }).toPayload();
  if (error instanceof LintError) return new AppError("lint_unavailable", error.message).toPayload();
  if (error instanceof ConfigError) return new AppError("config", error.message).toPayload();
  const connection = asConnectionError(error);
  if (connection) {
    // Not a target's (those come as ExecutorError, named): the store's or the shadow server's, so the hint names every URL variable it may be.
    const what = connection.code === "unreachable" || connection.code === "timeout" ? "cannot be reached" : "refused the connection";
    const hint = CONSOLE_DATABASE_HINTS[connection.code as keyof typeof CONSOLE_DATABASE_HINTS];
    return new AppError(connection.code, `A database the console needs ${what}: ${connection.message}`, undefined, hint ? { hint } : {}).toPayload();
  }
  log("Unexpected error", error);
  return { code: "internal", status: 500, message: UNEXPECTED_MESSAGE };
}

/** The payload as one or two lines for a terminal or a log: the message, then what to do. */
export function errorLines(payload: Pick<ErrorPayload, "message" | "hint">): string {
  return payload.hint ? `${payload.message}\n${payload.hint}` : payload.message;
}

/** A stored error (a run's, a job's) with its message redacted of URLs, and of the data values PostgreSQL quotes. */
export function redactedMessage(error: unknown): string {
  if (sqlState(error)) return withoutRowValues(error as { code?: string; message?: string }).message;
  return redact((error as Error)?.message ?? String(error));
}

/** PostgreSQL's SQLSTATE of an error, also when drizzle wrapped the driver's error in its own. */
export function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}
