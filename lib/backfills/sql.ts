/**
 * The SQL a backfill runs, composed from its declaration. One batch is one statement: take the next
 * `limit` keys after the cursor that still match the predicate, update those rows (re-checking the
 * predicate, so a replayed batch is a no-op), and report the last key walked and the rows changed.
 */
import { analyzeSql, SqlSyntaxError } from "../catalog";
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
 * One batch. Parameters: with a cursor `$1` = last key done (as text), `$2` = batch size; without,
 * `$1` = batch size. Two shapes rather than `$1 IS NULL OR key > $1`, which a generic plan could not
 * serve from the primary key index.
 */
export function batchStatement(def: BackfillDefinition, keyType: string, withCursor: boolean): string {
  const table = qualifiedTable(def);
  const key = quoteIdent(def.key);
  const after = withCursor ? `${key} > $1::${keyType} AND ` : "";
  const limit = withCursor ? "$2" : "$1";
  return `WITH batch AS (
  SELECT ${key} AS backfill_key FROM ${table}
  WHERE ${after}(${def.predicate})
  ORDER BY ${key} LIMIT ${limit}::int
), changed AS (
  UPDATE ${table} SET ${setList(def)}
  FROM batch WHERE ${table}.${key} = batch.backfill_key AND (${def.predicate})
  RETURNING 1
)
SELECT (SELECT backfill_key::text FROM batch ORDER BY backfill_key DESC LIMIT 1) AS last_key,
  (SELECT count(*) FROM batch)::int AS walked,
  (SELECT count(*) FROM changed)::int AS changed`;
}

/** Rows that still need the backfill. */
export const remainingStatement = (def: BackfillDefinition) => `SELECT count(*)::bigint AS remaining FROM ${qualifiedTable(def)} WHERE (${def.predicate})`;

/**
 * The declaration's SQL must be exactly one statement each, as PostgreSQL's own parser reads it: a
 * `set` expression or predicate that closes the statement and starts another is refused.
 */
export async function checkBackfillSql(def: BackfillDefinition): Promise<void> {
  for (const [what, text] of [
    ["the batch statement", batchStatement(def, "text", true)],
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
