export type LintErrorCode = "squawk-unavailable" | "squawk-failed";

/**
 * The lint could not produce its findings. A plan must not be shown without them: callers surface
 * this error instead of a partial list.
 */
export class LintError extends Error {
  override name = "LintError";
  constructor(
    readonly code: LintErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
