/**
 * What every reader of a PostgreSQL catalog here shares: one read-only REPEATABLE READ transaction (so
 * the sections agree), settings that make the catalog print the same way on every server, the filter
 * that leaves out objects created by extensions, and the catalog's codes in our words.
 */
import type postgres from "postgres";

/** Qualified names everywhere (format_type, pg_get_expr), one date and interval style. */
export const PRINT_SETTINGS = { search_path: "pg_catalog", DateStyle: "ISO, MDY", IntervalStyle: "postgres" } as const;
export type PrintSettings = Record<keyof typeof PRINT_SETTINGS, string>;

/** Sets the print settings for the rest of the transaction (transaction-local). Created, hence sent, at once. */
export function setPrintSettings(tx: postgres.TransactionSql, settings: PrintSettings = PRINT_SETTINGS) {
  return tx`select set_config('search_path', ${settings.search_path}, true),
    set_config('DateStyle', ${settings.DateStyle}, true), set_config('IntervalStyle', ${settings.IntervalStyle}, true)`.execute();
}

/** The caller's print settings, to put back after reading inside the caller's transaction. */
export function currentPrintSettings(tx: postgres.TransactionSql) {
  return tx<PrintSettings[]>`
    select current_setting('search_path') as search_path, current_setting('DateStyle') as "DateStyle",
      current_setting('IntervalStyle') as "IntervalStyle"`.execute();
}

/**
 * Runs `read` in a read-only REPEATABLE READ transaction whose print settings are set first. Queries go
 * out in the order they are created, so `read` may pipeline its sections without awaiting the settings.
 */
export function inCatalogSnapshot<T>(sql: postgres.Sql, read: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin("isolation level repeatable read read only", async (tx) => {
    const settings = setPrintSettings(tx);
    const [result] = await Promise.all([read(tx), settings]);
    return result as T;
  }) as Promise<T>;
}

/**
 * SQL: the object is not a member of an extension (CREATE EXTENSION records a pg_depend row of type 'e').
 * Read from the extensions' side: a few rows, hashed once, whatever the number of objects.
 */
export const notExtensionMember = (classId: string, objId: string) =>
  `${objId} not in (select d.objid from pg_depend d where d.refclassid = 'pg_extension'::regclass and d.classid = '${classId}'::regclass and d.deptype = 'e')`;

/**
 * A text[] parameter as a PostgreSQL array literal: sql.array() needs the array types postgres.js fetches
 * on connect, and a caller's client may have fetch_types off.
 */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`;
}

/** pg_constraint.contype. */
export const CONSTRAINT_TYPES = {
  p: "primary_key",
  u: "unique",
  c: "check",
  f: "foreign_key",
  x: "exclusion",
  t: "trigger",
} as const satisfies Record<string, string>;
export type ConstraintType = (typeof CONSTRAINT_TYPES)[keyof typeof CONSTRAINT_TYPES] | "other";

/** pg_trigger.tgenabled. */
export const TRIGGER_STATES = { O: "origin", D: "disabled", R: "replica", A: "always" } as const satisfies Record<string, string>;
export type TriggerState = (typeof TRIGGER_STATES)[keyof typeof TRIGGER_STATES];

/** pg_policy.polcmd. */
export const POLICY_COMMANDS = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" } as const satisfies Record<string, string>;
export type PolicyCommand = (typeof POLICY_COMMANDS)[keyof typeof POLICY_COMMANDS];

/** A catalog code looked up in one of the maps above, `fallback` for a code a newer server added. */
export function codeOf<M extends Record<string, string>, F extends string>(map: M, code: string, fallback: F): M[keyof M] | F {
  return (map as unknown as Record<string, M[keyof M]>)[code] ?? fallback;
}
