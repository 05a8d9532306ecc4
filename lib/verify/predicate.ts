/**
 * Is a policy expression, as PostgreSQL prints it (pg_get_expr), the tenant predicate? Compared as parse
 * trees with the real PostgreSQL parser, not as text: the server adds parentheses and `::text` casts to
 * literals when it prints an expression, and may qualify names with pg_catalog.
 */
import { parseSync } from "libpg-query";
import { ensureParser } from "../migrations/parser";
import { quoteIdent } from "./expectations";

export type PredicateKind = "tenant" | "deny" | "other";

/** Load the WASM parser (once per process) before classifying. */
export { ensureParser };

const shapes = new Map<string, string>();

/** A canonical JSON of the expression's parse tree (needs `ensureParser()`), memoised per text. */
export function expressionShape(expression: string): string {
  let shape = shapes.get(expression);
  if (shape === undefined) {
    const parsed = parseSync(`SELECT ${expression}`) as {
      stmts?: { stmt?: { SelectStmt?: { targetList?: { ResTarget?: { val?: unknown } }[] } } }[];
    };
    const stmts = parsed.stmts ?? [];
    const target = stmts[0]?.stmt?.SelectStmt?.targetList;
    if (stmts.length !== 1 || target?.length !== 1) throw new Error(`not a single expression: ${expression}`);
    shape = JSON.stringify(normalise(target[0]!.ResTarget!.val));
    shapes.set(expression, shape);
  }
  return shape;
}

function isTextCastOfString(node: Record<string, unknown>): unknown {
  const cast = node.TypeCast as { arg?: Record<string, unknown>; typeName?: { names?: unknown[] } } | undefined;
  if (!cast?.arg || !("A_Const" in cast.arg)) return null;
  const names = (cast.typeName?.names ?? []).map((n) => (n as { String?: { sval?: string } }).String?.sval);
  const unqualified = names[0] === "pg_catalog" ? names.slice(1) : names;
  const constant = cast.arg.A_Const as { sval?: unknown };
  return unqualified.length === 1 && unqualified[0] === "text" && constant.sval !== undefined ? cast.arg : null;
}

function normalise(node: unknown): unknown {
  if (Array.isArray(node)) {
    const items = node.map(normalise);
    // Names such as pg_catalog.current_setting or pg_catalog.text: the schema is the default one.
    const first = items[0] as { String?: { sval?: string } } | undefined;
    if (items.length > 1 && first?.String?.sval === "pg_catalog") return items.slice(1);
    return items;
  }
  if (node === null || typeof node !== "object") return node;
  const record = node as Record<string, unknown>;
  const literal = isTextCastOfString(record);
  if (literal) return normalise(literal);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) {
    if (key === "location") continue;
    out[key] = normalise(record[key]);
  }
  return out;
}

/** The predicate every tenant policy uses for its tenant key (clinic_id, or id on the tenant table itself). */
export function tenantPredicateSql(tenantKey: string, currentClinicIdSql: string): string {
  return `${quoteIdent(tenantKey)} = ${currentClinicIdSql}`;
}

/** "tenant" if the expression is exactly the tenant predicate on `tenantKey`, "deny" for constant false. */
export function classifyPredicate(expression: string, tenantKey: string, currentClinicIdSql: string): PredicateKind {
  const shape = expressionShape(expression);
  if (shape === expressionShape(tenantPredicateSql(tenantKey, currentClinicIdSql))) return "tenant";
  if (shape === expressionShape("false")) return "deny";
  return "other";
}
