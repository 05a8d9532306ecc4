/**
 * Splitting SQL files into statements with PostgreSQL's own parser (libpg-query, WASM).
 * Offsets returned here are UTF-16 indexes into the JavaScript string; the parser itself speaks
 * UTF-8 byte offsets (statement locations) and code-point positions (error cursor).
 */
import { loadModule, parseSync, scanSync, type Node } from "libpg-query";
import { SqlSyntaxError } from "./errors";

/** drizzle-kit's statement separator; drizzle's migrator splits the file text on it verbatim. */
export const BREAKPOINT = "--> statement-breakpoint";

let ready: Promise<void> | null = null;

/** Loads the WASM parser once per process; later calls share the same promise. */
export function ensureParser(): Promise<void> {
  ready ??= loadModule().catch((error: unknown) => {
    ready = null;
    throw error;
  });
  return ready;
}

export interface RawStatement {
  ast: Node;
  chunk: number;
  /** UTF-16 offsets in the whole text: [start, end). `end` excludes the semicolon and trailing comments. */
  start: number;
  end: number;
}

export interface SplitResult {
  statements: RawStatement[];
  /** At most one per chunk: the parser stops at the first error in its input. */
  errors: SqlSyntaxError[];
}

/** Splits on breakpoints first (drizzle's format), then each chunk into statements with the parser. Needs `ensureParser()`. */
export function splitSql(text: string, file: string): SplitResult {
  const statements: RawStatement[] = [];
  const errors: SqlSyntaxError[] = [];
  const lines = new LineIndex(text);
  let chunkStart = 0;
  text.split(BREAKPOINT).forEach((chunk, chunkIndex) => {
    const base = chunkStart;
    chunkStart += chunk.length + BREAKPOINT.length;
    if (chunk.trim() === "") return; // the parser rejects empty input; whitespace-only chunks hold nothing

    let result;
    try {
      result = parseSync(chunk);
    } catch (error) {
      errors.push(syntaxError(error, chunk, base, file, lines));
      return;
    }
    const toIndex = byteOffsetMapper(chunk);
    for (const raw of result.stmts ?? []) {
      if (!raw.stmt) continue;
      const startByte = raw.stmt_location ?? 0;
      const start = toIndex(startByte);
      // stmt_len 0 means "to the end of the input", which drags along trailing comments.
      const end = raw.stmt_len ? toIndex(startByte + raw.stmt_len) : start + lastTokenEnd(chunk.slice(start));
      statements.push({ ast: raw.stmt, chunk: chunkIndex, start: base + start, end: base + end });
    }
  });
  return { statements, errors };
}

function syntaxError(error: unknown, chunk: string, base: number, file: string, lines: LineIndex): SqlSyntaxError {
  const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
  if (!details) throw error; // not a syntax error (e.g. WASM failure): let it surface as is
  const offset = base + codePointToIndex(chunk, details.cursorPosition ?? 0);
  const { line, column } = lines.position(offset);
  return new SqlSyntaxError({
    file,
    line,
    column,
    offset,
    parserMessage: details.message ?? String(error),
    lineText: lines.lineText(line),
  });
}

/** Length of `sql` up to the end of its last token that is not a comment. */
function lastTokenEnd(sql: string): number {
  const tokens = scanSync(sql).tokens.filter((t) => t.tokenName !== "SQL_COMMENT" && t.tokenName !== "C_COMMENT");
  const last = tokens.at(-1);
  return last ? byteOffsetMapper(sql)(last.end) : sql.trimEnd().length;
}

/** Maps UTF-8 byte offsets of `text` to UTF-16 indexes. */
function byteOffsetMapper(text: string): (byteOffset: number) => number {
  if (Buffer.byteLength(text, "utf8") === text.length) return (b) => b; // ASCII: the same numbers
  const byteToIndex = new Map<number, number>();
  let bytes = 0;
  let index = 0;
  for (const ch of text) {
    byteToIndex.set(bytes, index);
    bytes += Buffer.byteLength(ch, "utf8");
    index += ch.length;
  }
  byteToIndex.set(bytes, index);
  return (b) => byteToIndex.get(b) ?? index;
}

/** PostgreSQL reports the error cursor in characters (code points); JavaScript indexes UTF-16 units. */
function codePointToIndex(text: string, codePoints: number): number {
  let index = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen === codePoints) break;
    index += ch.length;
    seen++;
  }
  return index;
}

export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
  }

  /** 1-based line and column of a UTF-16 offset. */
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }

  lineText(line: number): string {
    const start = this.starts[line - 1] ?? this.text.length;
    const next = this.starts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, "");
  }
}
