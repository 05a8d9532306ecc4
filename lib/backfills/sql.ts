/**
 * The SQL a backfill runs, composed from its declaration. Every UPDATE re-checks the predicate, so a
 * batch replayed after a crash changes nothing.
 */
import { scanSync } from "libpg-query";
import { analyzeSql, SqlSyntaxError } from "../migrations";
import { ensureParser } from "../migrations/parser";
import { AppError } from "../errors";
import type { BackfillDefinition } from "./definition";

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const qualifiedTable = (def: Pick<BackfillDefinition, "schema" | "tableName">) => `${quoteIdent(def.schema)}.${quoteIdent(def.tableName)}`;

const setList = (def: BackfillDefinition) =>
  Object.entries(def.set)
    .map(([column, expression]) => `${quoteIdent(column)} = ${expression}`)
    .join(", ");

/** What a reviewer reads: the statement applied to one batch of keys ($1). */
export function reviewStatement(def: BackfillDefinition): string {
  return `UPDATE ${qualifiedTable(def)} SET ${setList(def)}\nWHERE ${quoteIdent(def.key)} = ANY($1) AND (${def.predicate})`;
}

/**
 * One batch is two statements in one transaction. First the batch's upper bound: the `limit`-th key
 * after the cursor among the rows that still need it. Then the UPDATE of the key range up to that
 * bound, which PostgreSQL serves by a range scan of the primary key (a join against a list of keys lets
 * the planner pick a hash join over the whole table). Without a bound (fewer rows left than the limit)
 * the UPDATE takes the rest and returns its last key. Parameters: the cursor (as text) when there is
 * one, then the limit or the bound. Two shapes each rather than `$1 IS NULL OR key > $1`, which a
 * generic plan could not serve from the index.
 */
export interface BatchStatements {
  bound: string;
  upToBound: string;
  rest: string;
}

export function batchStatements(def: BackfillDefinition, keyType: string, withCursor: boolean): BatchStatements {
  const table = qualifiedTable(def);
  const key = quoteIdent(def.key);
  const after = withCursor ? `${key} > $1::${keyType} AND ` : "";
  const next = withCursor ? "$2" : "$1";
  return {
    bound: `SELECT ${key}::text AS bound FROM ${table} WHERE ${after}(${def.predicate}) ORDER BY ${key} OFFSET ${next}::int - 1 LIMIT 1`,
    upToBound: `UPDATE ${table} SET ${setList(def)} WHERE ${after}${key} <= ${next}::${keyType} AND (${def.predicate})`,
    rest: `WITH changed AS (UPDATE ${table} SET ${setList(def)} WHERE ${after}(${def.predicate}) RETURNING ${key} AS backfill_key)
SELECT (SELECT backfill_key FROM changed ORDER BY backfill_key DESC LIMIT 1)::text AS last_key, (SELECT count(*) FROM changed)::int AS changed`,
  };
}

/** Rows that still need the backfill. */
export const remainingStatement = (def: BackfillDefinition) => `SELECT count(*)::bigint AS remaining FROM ${qualifiedTable(def)} WHERE (${def.predicate})`;

/**
 * The declaration's SQL must be exactly one statement each, as PostgreSQL's own parser reads it: a
 * `set` expression or predicate that closes the statement and starts another is refused.
 */
export async function checkBackfillSql(def: BackfillDefinition): Promise<void> {
  await ensureParser();
  for (const [column, expression] of Object.entries(def.set)) oneExpression(def, `set.${column}`, expression, [",", "from", "where", "returning"]);
  oneExpression(def, "the predicate", def.predicate, []);
  for (const [what, text] of [
    ...Object.values(batchStatements(def, "text", true)).map((text) => ["the batch statement", text] as const),
    ["the predicate", remainingStatement(def)],
  ] as const) {
    let count: number;
    try {
      count = (await analyzeSql(text, def.file)).length;
    } catch (e) {
      if (e instanceof SqlSyntaxError) throw new AppError("invalid_input", `${def.file}: ${what} does not parse: ${e.message}`);
      throw e;
    }
    if (count !== 1) throw new AppError("invalid_input", `${def.file}: ${what} must be one statement; a set expression or the predicate ends it early.`);
  }
}

/**
 * A `set` expression or the predicate is pasted into the batch statements: one that closes a
 * parenthesis it did not open (`NOT done) OR (true`) or, for `set`, ends itself at a top-level comma
 * or clause (`true, value = 0`) still parses as one statement, but not the one reviewed: the
 * predicate would no longer bound the batch to its key range.
 */
function oneExpression(def: BackfillDefinition, what: string, text: string, endsAt: string[]): void {
  let tokens: { text: string }[];
  try {
    tokens = scanSync(text).tokens;
  } catch {
    return; // an unterminated literal or comment: the statements' parse below says where
  }
  let depth = 0;
  for (const token of tokens) {
    if (token.text === "(") depth++;
    else if (token.text === ")" && --depth < 0) throw new AppError("invalid_input", `${def.file}: ${what} must be one SQL expression: it closes a parenthesis it did not open.`);
    else if (depth === 0 && endsAt.includes(token.text.toLowerCase())) throw new AppError("invalid_input", `${def.file}: ${what} must be one SQL expression: a "${token.text}" outside parentheses ends it.`);
  }
  if (depth > 0) throw new AppError("invalid_input", `${def.file}: ${what} must be one SQL expression: a parenthesis is not closed.`);
}
