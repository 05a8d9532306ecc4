/** What a statement changes that the compliance officer signs off: tagged data, RLS, policies. */
import type { DropStmt, GrantStmt, InsertStmt, Node, RangeVar, UpdateStmt } from "libpg-query";
import type { Statement, TableRef } from "../migrations";
import {
  classesOfTable,
  classificationOf,
  DATA_CLASSES,
  taggedColumns,
  type DataClass,
} from "../../db/schema/classification";
import { findNodes, nameParts, partsRef, roleOptionOn, tableRef, unwrap } from "./ast";
import type { FindingTouches } from "./types";

export function emptyTouches(): FindingTouches {
  return { taggedData: false, classes: [], rls: false, policies: false };
}

export function mergeTouches(...all: Partial<FindingTouches>[]): FindingTouches {
  const classes = new Set<DataClass>(all.flatMap((t) => t.classes ?? []));
  return {
    taggedData: classes.size > 0 || all.some((t) => t.taggedData),
    classes: DATA_CLASSES.filter((c) => classes.has(c)),
    rls: all.some((t) => t.rls),
    policies: all.some((t) => t.policies),
  };
}

export function needsSignoff(t: FindingTouches): boolean {
  return t.taggedData || t.rls || t.policies;
}

export function tableClasses(t: TableRef): DataClass[] {
  return classesOfTable(t.schema, t.name);
}

/**
 * The statement's own touches, shared by every finding on it: tagged columns it adds, drops, retypes,
 * renames, sets, copies (reads in an UPDATE's SET) or inserts; tagged tables it drops, truncates,
 * deletes from or grants on; RLS switches; roles made able to bypass RLS; policies.
 */
export function statementTouches(s: Statement): FindingTouches {
  const classes: DataClass[] = [];
  for (const c of s.analysis.columns) {
    const cls = classificationOf(c.table.schema, c.table.name, c.name) ?? (c.newName ? classificationOf(c.table.schema, c.table.name, c.newName) : null);
    if (cls) classes.push(cls);
  }
  const [kind, value] = unwrap(s.ast);
  if (kind === "DropStmt" && (value as DropStmt).removeType === "OBJECT_TABLE") {
    for (const o of (value as DropStmt).objects ?? []) classes.push(...tableClasses(partsRef(nameParts(o))));
  }
  if (kind === "TruncateStmt") {
    for (const r of findNodes<RangeVar>(value, "RangeVar")) classes.push(...tableClasses(tableRef(r)));
  }
  for (const d of findNodes<{ relation?: RangeVar }>(s.ast, "DeleteStmt")) classes.push(...tableClasses(tableRef(d.relation)));
  for (const i of findNodes<InsertStmt>(s.ast, "InsertStmt")) classes.push(...insertClasses(i));
  for (const u of findNodes<UpdateStmt>(s.ast, "UpdateStmt")) classes.push(...updatedColumns(u).flatMap((c) => c.dataClass ?? []), ...copiedClasses(u));
  if (kind === "GrantStmt") classes.push(...grantClasses(value as GrantStmt));

  const rlsSwitch = s.analysis.rls.some((m) => m.action === "enable" || m.action === "disable" || m.action === "force" || m.action === "no-force");
  const roleBypass =
    (kind === "CreateRoleStmt" || kind === "AlterRoleStmt") &&
    (roleOptionOn(value.options as Node[] | undefined, "bypassrls") || roleOptionOn(value.options as Node[] | undefined, "superuser"));
  const policies = s.analysis.rls.some((m) => m.action.endsWith("-policy"));
  return mergeTouches({ classes, rls: rlsSwitch || roleBypass, policies });
}

/** The columns an UPDATE sets, with their class (null when untagged). */
export function updatedColumns(stmt: UpdateStmt): { table: TableRef; column: string; dataClass: DataClass | null }[] {
  const table = tableRef(stmt.relation);
  return (stmt.targetList ?? []).flatMap((t) =>
    "ResTarget" in t && t.ResTarget.name
      ? [{ table, column: t.ResTarget.name, dataClass: classificationOf(table.schema, table.name, t.ResTarget.name) }]
      : [],
  );
}

/**
 * Classes of the tagged columns an UPDATE's SET expressions read: `SET note = cpf` copies an
 * identifier into an untagged column. A column name is looked up in the updated table, the FROM list
 * and the tables of subqueries in the expressions (by alias or name when qualified).
 */
function copiedClasses(stmt: UpdateStmt): DataClass[] {
  const values = (stmt.targetList ?? []).flatMap((t) => ("ResTarget" in t && t.ResTarget.val ? [t.ResTarget.val] : []));
  const relations = [stmt.relation, ...findNodes<RangeVar>(stmt.fromClause ?? [], "RangeVar"), ...findNodes<RangeVar>(values, "RangeVar")].filter((r): r is RangeVar => !!r);
  const classes: DataClass[] = [];
  for (const ref of findNodes<{ fields?: Node[] }>(values, "ColumnRef")) {
    const names = (ref.fields ?? []).flatMap((f) => ("String" in f ? [f.String.sval ?? ""] : []));
    const column = names.at(-1);
    if (!column || names.length !== (ref.fields ?? []).length) continue; // t.* reads whole rows: not a column
    const qualifier = names.length > 1 ? names.at(-2) : null;
    for (const r of relations) {
      if (qualifier && qualifier !== (r.alias?.aliasname ?? r.relname)) continue;
      const cls = classificationOf(tableRef(r).schema, tableRef(r).name, column);
      if (cls) classes.push(cls);
    }
  }
  return classes;
}

function insertClasses(stmt: InsertStmt): DataClass[] {
  const table = tableRef(stmt.relation);
  const cols = (stmt.cols ?? []).flatMap((c) => ("ResTarget" in c && c.ResTarget.name ? [c.ResTarget.name] : []));
  if (cols.length === 0) return tableClasses(table); // every column, in table order
  return cols.flatMap((c) => classificationOf(table.schema, table.name, c) ?? []);
}

function grantClasses(stmt: GrantStmt): DataClass[] {
  if (stmt.objtype !== "OBJECT_TABLE") return [];
  if (stmt.targtype === "ACL_TARGET_ALL_IN_SCHEMA") {
    const schemas = new Set((stmt.objects ?? []).flatMap(nameParts));
    return taggedColumns()
      .filter((c) => schemas.has(c.schema))
      .map((c) => c.dataClass);
  }
  return (stmt.objects ?? []).flatMap((o) => ("RangeVar" in o ? tableClasses(tableRef(o.RangeVar)) : []));
}
