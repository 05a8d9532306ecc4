export type CatalogErrorCode =
  | "dir-missing"
  | "journal-missing"
  | "journal-invalid"
  | "duplicate-entry"
  | "migration-file-missing"
  | "migration-not-in-journal"
  | "down-without-up"
  | "read-failed"
  | "sql-syntax";

/** A migrations folder the console cannot use as it is. `file` is the path at fault, when there is one. */
export class CatalogError extends Error {
  override name = "CatalogError";
  constructor(
    readonly code: CatalogErrorCode,
    readonly file: string | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SqlSyntaxErrorDetails {
  file: string;
  /** 1-based; column counts UTF-16 code units, as editors do. */
  line: number;
  column: number;
  /** Offset in the file text. */
  offset: number;
  /** PostgreSQL's own message, e.g. `syntax error at or near ")"`. */
  parserMessage: string;
  /** The whole line the error is on, for display. */
  lineText: string;
}

/**
 * SQL that PostgreSQL's parser rejects. From `loadCatalog` it is the first error in journal order
 * and `also` holds every further one found in the folder (at most one per breakpoint chunk: the
 * parser stops at its first error).
 */
export class SqlSyntaxError extends CatalogError {
  override name = "SqlSyntaxError";
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly parserMessage: string;
  readonly lineText: string;
  also: SqlSyntaxError[] = [];

  constructor(details: SqlSyntaxErrorDetails) {
    super("sql-syntax", details.file, formatSyntaxError(details));
    this.line = details.line;
    this.column = details.column;
    this.offset = details.offset;
    this.parserMessage = details.parserMessage;
    this.lineText = details.lineText;
  }

  /** Every error of the load, this one first. */
  get all(): SqlSyntaxError[] {
    return [this, ...this.also];
  }

  /** Records the load's further errors on the first one and lists them in its message. */
  withFurther(rest: SqlSyntaxError[]): this {
    this.also = rest;
    if (rest.length > 0) {
      const more = rest.map((e) => `  ${e.file}:${e.line}:${e.column}: ${e.parserMessage}`).join("\n");
      this.message += `\n\n${rest.length} more syntax error${rest.length === 1 ? "" : "s"}:\n${more}`;
    }
    return this;
  }
}

function formatSyntaxError(d: SqlSyntaxErrorDetails): string {
  // Keep tabs in the caret's indentation so it lines up under the offending character.
  const indent = Array.from(d.lineText.slice(0, d.column - 1), (ch) => (ch === "\t" ? "\t" : " ")).join("");
  return `${d.file}:${d.line}:${d.column}: ${d.parserMessage}\n  ${d.lineText}\n  ${indent}^`;
}
