/**
 * What a failed connection means, in codes and words a user can act on, and the one redaction rule
 * for anything that may carry a connection URL. No imports: lib/errors.ts and lib/targets/connect.ts
 * both build on it.
 */

/** Removes connection URLs (and so their passwords) and password=... pairs from a text. */
export function redactSecrets(text: string): string {
  return text.replace(/postgres(ql)?:\/\/\S+/g, "(url)").replace(/password=\S+/gi, "password=****");
}

/**
 * PostgreSQL's error text without the data values it quotes: the failing row of a NOT NULL or CHECK
 * violation, a duplicate or missing key's values, the input a cast or an enum refused. On a
 * production target those are patients' data, and the text goes to the run log, the audit trail and
 * the browser. What names the problem (the constraint, the column, the type) stays.
 *
 * Decided by the error's class, not its words: a server with lc_messages = pt_BR says "A linha que
 * falhou contém (...)" and "Chave (cpf)=(...) já existe.". For a data exception (class 22) every
 * quoted string of the message is taken as the value; for it and an integrity violation (class
 * 23) the detail keeps only a key's column list, or is withheld whole.
 */
export function withoutRowValues(err: { code?: string; message?: string; detail?: string }): { message: string; detail: string | undefined } {
  const dataException = err.code?.startsWith("22") ?? false;
  const integrityViolation = err.code?.startsWith("23") ?? false;
  let message = redactSecrets(err.message ?? "");
  if (dataException) {
    message = message.replace(/\bvalue "(?:[^"]|"")*" is out of range/, "value (withheld) is out of range").replace(/"(?:[^"]|"")*"/gs, "(value withheld)");
  }
  let detail = err.detail;
  if (detail && (dataException || integrityViolation)) {
    // "Key (cols)=(values) ...", in any language: the word before the parenthesis is translated, the shape is not.
    const columns = /^[^(=]*\((.+?)\)=\(/s.exec(detail)?.[1];
    if (columns) {
      const outcome =
        /\) (already exists\.|is duplicated\.|is not present in table "[^"]*"\.|is still referenced from table "[^"]*"\.)$/s.exec(detail)?.[1] ??
        (detail.includes(" conflicts with existing key ") ? "conflicts with an existing key." : "");
      detail = `Key (${columns})=(values withheld) ${outcome}`.trim();
    } else if (integrityViolation && /\(.*\)/s.test(detail)) detail = "Failing row contains (values withheld: they may be patient data).";
    else detail = "(detail withheld: it may quote the data)";
  }
  return { message, detail };
}

export type ConnectionErrorCode =
  /** Wrong user or password, or no pg_hba.conf entry for this client. */
  | "auth_failed"
  /** The server answered, but the database in the URL does not exist there. */
  | "database_missing"
  /** Nothing listens, the host does not resolve, or the endpoint closes every connection. */
  | "unreachable"
  /** The endpoint accepted the connection but PostgreSQL did not answer in time. */
  | "timeout";

export class ConnectionError extends Error {
  constructor(
    public readonly code: ConnectionErrorCode,
    message: string,
    /** The driver's or the server's own code (ECONNREFUSED, 28P01, ...), for logs and tests. */
    public readonly cause_code?: string,
  ) {
    super(message);
    this.name = "ConnectionError";
  }
}

/** A connection failure as a ConnectionError (codes and words a user can act on); null when it is not one. */
export function asConnectionError(e: unknown): ConnectionError | null {
  if (e instanceof ConnectionError) return e;
  // drizzle wraps the driver's error: look through causes.
  let err = e as { code?: string; message?: string; cause?: unknown } | null;
  for (let depth = 0; err && depth < 5 && !(typeof err.code === "string" && KNOWN.has(err.code)); depth++) err = err.cause as typeof err;
  if (err instanceof ConnectionError) return err;
  const code = err?.code;
  switch (code) {
    case "28P01":
    case "28000":
      return new ConnectionError("auth_failed", `Authentication failed: ${redactSecrets(err?.message ?? "wrong user or password")}. Check the user and password in the URL.`, code);
    case "3D000":
      return new ConnectionError("database_missing", `The server answered, but ${redactSecrets(err?.message ?? "the database does not exist")}. Check the database name in the URL.`, code);
    case "ECONNREFUSED":
      return new ConnectionError("unreachable", "Connection refused: no PostgreSQL is listening at that address.", code);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ConnectionError("unreachable", "The database host name does not resolve.", code);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ECONNRESET":
    case "EPIPE":
    case "CONNECTION_CLOSED":
    case "CONNECTION_DESTROYED":
    case "CONNECTION_ENDED":
      return new ConnectionError("unreachable", `The connection to the database was lost (${code}).`, code);
    case "57P03":
    case "53300":
      return new ConnectionError("unreachable", `The database refuses connections right now: ${redactSecrets(err?.message ?? "")}`, code);
    case "CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return new ConnectionError("timeout", "The database did not answer in time.", code);
    default:
      return null;
  }
}

/** A connection failure in words, without the URL (it may carry a password). */
export function describeConnectionError(e: unknown): string {
  return asConnectionError(e)?.message ?? redactSecrets((e as Error)?.message ?? String(e));
}


const KNOWN = new Set(["28P01", "28000", "3D000", "ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE", "CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "57P03", "53300", "CONNECT_TIMEOUT", "ETIMEDOUT"]);
