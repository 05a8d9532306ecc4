/**
 * What the lint knows about the set of pending migrations as a whole: which tables are new, which are
 * tenant tables, and where each new table gets its row level security.
 */
import type { CreateStmt, CreateTableAsStmt } from "libpg-query";
import type { Migration, Statement, TableRef } from "../migrations";
import { APPEND_ONLY_TABLES, schemaExpectations, TENANT_COLUMN } from "../../db/schema/expectations";
import { tableKey, tableRef, unwrap } from "./ast";

/** Tenant key per table of the declared schema (`clinic_id`, or `id` for clinics). */
const DECLARED_TENANT_KEYS: ReadonlyMap<string, string> = new Map(
  schemaExpectations.tables.flatMap((t) => (t.tenantKey ? [[t.qualifiedName, t.tenantKey] as const] : [])),
);
const APPEND_ONLY: ReadonlySet<string> = new Set(APPEND_ONLY_TABLES);

export interface PendingSet {
  /** The migrations in the order they apply. */
  migrations: readonly Migration[];
  existingTables: ReadonlySet<string>;
  /** The column a tenant table's policies must compare with the clinic context; null when not a tenant table. */
  tenantKey(table: TableRef): string | null;
  isAppendOnly(table: TableRef): boolean;
  /** Whether the migration at `position` both enables and forces RLS on the table. */
  securedIn(position: number, table: TableRef): boolean;
  /** The first later migration by whose end RLS is both enabled and forced, or null. */
  securedLater(position: number, table: TableRef): Migration | null;
}

/** Tables a statement creates (not temporary ones). */
export function createdTables(s: Statement): TableRef[] {
  const [kind, value] = unwrap(s.ast);
  if (kind === "CreateStmt") {
    const rel = (value as CreateStmt).relation;
    return rel?.relpersistence === "t" ? [] : [tableRef(rel)];
  }
  if (kind === "CreateTableAsStmt") {
    const stmt = value as CreateTableAsStmt;
    const rel = stmt.into?.rel;
    return stmt.objtype === "OBJECT_TABLE" && rel?.relpersistence !== "t" ? [tableRef(rel)] : [];
  }
  return [];
}

export function buildPendingSet(migrations: readonly Migration[], existingTables: ReadonlySet<string>): PendingSet {
  const tenantKeys = new Map(DECLARED_TENANT_KEYS);
  const enabled: Set<string>[] = [];
  const forced: Set<string>[] = [];
  for (const m of migrations) {
    const e = new Set<string>();
    const f = new Set<string>();
    for (const s of m.statements) {
      for (const c of s.analysis.columns) {
        if (c.action === "add" && c.name === TENANT_COLUMN && !tenantKeys.has(tableKey(c.table))) {
          tenantKeys.set(tableKey(c.table), TENANT_COLUMN);
        }
      }
      for (const marker of s.analysis.rls) {
        if (marker.action === "enable") e.add(tableKey(marker.table));
        if (marker.action === "force") f.add(tableKey(marker.table));
      }
    }
    enabled.push(e);
    forced.push(f);
  }

  return {
    migrations,
    existingTables,
    tenantKey: (t) => tenantKeys.get(tableKey(t)) ?? null,
    isAppendOnly: (t) => APPEND_ONLY.has(tableKey(t)),
    securedIn: (position, t) => enabled[position]!.has(tableKey(t)) && forced[position]!.has(tableKey(t)),
    securedLater(position, t) {
      const key = tableKey(t);
      let isEnabled = enabled[position]!.has(key);
      let isForced = forced[position]!.has(key);
      for (let p = position + 1; p < migrations.length; p++) {
        isEnabled ||= enabled[p]!.has(key);
        isForced ||= forced[p]!.has(key);
        if (isEnabled && isForced) return migrations[p]!;
      }
      return null;
    },
  };
}
