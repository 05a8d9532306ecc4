/**
 * Errors a user can cause or meet, with the HTTP status they map to. Anything else is a bug:
 * logged on the server, shown to the user as a generic failure.
 */
export const ERROR_STATUS = {
  unauthenticated: 401,
  forbidden: 403,
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorPayload {
  code: ErrorCode;
  status: number;
  message: string;
  /** Field-level problems for forms. */
  fields?: Record<string, string[]>;
}

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly fields?: Record<string, string[]>,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toPayload(): ErrorPayload {
    return { code: this.code, status: this.status, message: this.message, ...(this.fields ? { fields: this.fields } : {}) };
  }
}

export type Result<T> = { ok: true; data: T } | { ok: false; error: ErrorPayload };

/** Maps any thrown value to what a user may see; unexpected errors are logged, not shown. */
export function toErrorPayload(error: unknown, log: (message: string, error: unknown) => void): ErrorPayload {
  if (error instanceof AppError) return error.toPayload();
  log("Unexpected error", error);
  return { code: "internal", status: 500, message: "Something went wrong on the server. The failure was logged." };
}

/** PostgreSQL's SQLSTATE of an error, also when drizzle wrapped the driver's error in its own. */
export function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}
