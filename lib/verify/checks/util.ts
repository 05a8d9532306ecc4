import type { CatalogSection, VerificationCatalog } from "../../introspect/verification-catalog";
import { controlsOf } from "../controls";
import type { CheckDefinition, CheckOutcome } from "../types";
import { quoteLiteral } from "../expectations";

export function pass(summary: string, sql: string, rows?: Record<string, unknown>[]): CheckOutcome {
  return { status: "pass", summary, evidence: { objects: [], ...(rows ? { rows } : {}), sql } };
}

/**
 * A pass over `count` objects, or "nothing to check" when there were none: "All 0 … pass" would
 * claim a guarantee that nothing backs.
 */
export function passOver(count: number, summary: string, nothing: string, sql: string, rows?: Record<string, unknown>[]): CheckOutcome {
  if (count === 0) return { status: "empty", summary: `Nothing to check: ${nothing}`, evidence: { objects: [], ...(rows ? { rows } : {}), sql } };
  return pass(summary, sql, rows);
}

export function fail(summary: string, objects: string[], sql: string, rows?: Record<string, unknown>[]): CheckOutcome {
  return { status: "fail", summary, evidence: { objects, ...(rows ? { rows } : {}), sql } };
}

export function warn(summary: string, objects: string[], sql: string, rows?: Record<string, unknown>[]): CheckOutcome {
  return { status: "warn", summary, evidence: { objects, ...(rows ? { rows } : {}), sql } };
}

export function error(summary: string, sql: string): CheckOutcome {
  return { status: "error", summary, evidence: { objects: [], sql } };
}

/** The section a check declared in `reads`; its absence is a bug in the registry, reported as an error. */
export function section<S extends CatalogSection>(catalog: VerificationCatalog, name: S): NonNullable<VerificationCatalog[S]> {
  const facts = catalog[name];
  if (facts === undefined) throw new Error(`catalog section "${name}" was not read: add it to the check's reads`);
  return facts as NonNullable<VerificationCatalog[S]>;
}

/** `('public', 'lgpd', 'audit')` for reproduction SQL. */
export function sqlList(values: readonly string[]): string {
  return `(${values.map(quoteLiteral).join(", ")})`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "a, b and 3 more" */
export function listSome(items: readonly string[], max = 3): string {
  if (items.length <= max) return items.join(", ");
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** Rows shown as evidence are capped; the summary carries the full count. */
export const EVIDENCE_ROWS = 50;

/** A registry entry; its controls come from the one table in controls.ts. */
export function defineCheck(def: Omit<CheckDefinition, "controls">): CheckDefinition {
  return { ...def, controls: controlsOf(def.id) };
}

/** `ARRAY['public', 'lgpd', 'audit']` for reproduction SQL. */
export function sqlArray(values: readonly string[]): string {
  return `ARRAY[${values.map(quoteLiteral).join(", ")}]`;
}
