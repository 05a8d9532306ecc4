/**
 * How long a statement keeps its strong lock on a table that exists before the plan. The catalog's
 * analysis says which lock each statement takes; this says whether it is held for a catalog change
 * only (brief, and bounded by the executor's lock_timeout) or for as long as the statement rewrites or
 * scans the table, or until its transaction ends. Squawk knows some of these cases; this covers all.
 */
import type { AlterTableCmd, AlterTableStmt, ColumnDef, Constraint, IndexStmt, Node } from "libpg-query";
import type { LockLevel, Statement, TableRef } from "../migrations";
import type { RuleContext } from "./console-rules";
import { findNodes, nameParts, tableKey, tableRef, unwrap } from "./ast";
import { typeChangeRewrites } from "./type-change";
import type { RuleInfo } from "./types";

/** Held to the end of a scan or rewrite, these block the table's traffic (SHARE: its writes). */
const STRONG: ReadonlySet<LockLevel> = new Set(["ACCESS EXCLUSIVE", "SHARE"]);

const blocked = (level: LockLevel) => (level === "SHARE" ? "every write to it waits" : "every read and write of it waits");

/** Functions PostgreSQL evaluates once for ADD COLUMN … DEFAULT (not volatile): no rewrite. */
const NON_VOLATILE_DEFAULTS = new Set(["now", "statement_timestamp", "transaction_timestamp", "current_date", "current_timestamp", "localtimestamp", "current_setting"]);

function isNonVolatile(node: Node | undefined): boolean {
  if (!node) return true;
  if ("A_Const" in node || "SQLValueFunction" in node) return true;
  if ("TypeCast" in node) return isNonVolatile(node.TypeCast.arg);
  if ("A_Expr" in node) return isNonVolatile(node.A_Expr.lexpr) && isNonVolatile(node.A_Expr.rexpr);
  if ("FuncCall" in node) {
    const name = (node.FuncCall.funcname ?? []).flatMap(nameParts).at(-1) ?? "";
    return NON_VOLATILE_DEFAULTS.has(name) && (node.FuncCall.args ?? []).every(isNonVolatile);
  }
  if ("A_ArrayExpr" in node) return (node.A_ArrayExpr.elements ?? []).every(isNonVolatile);
  return false;
}

const SERIAL_TYPES = new Set(["serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"]);

/** Why adding this column rewrites or scans the table; null for a catalog-only addition. */
function addColumnWork(def: ColumnDef): string | null {
  const type = (def.typeName?.names ?? []).flatMap(nameParts).at(-1) ?? "";
  if (SERIAL_TYPES.has(type)) return "fills a sequence value into every row (a rewrite)";
  for (const c of def.constraints ?? []) {
    if (!("Constraint" in c)) continue;
    const con: Constraint = c.Constraint;
    switch (con.contype) {
      case "CONSTR_DEFAULT":
        if (!isNonVolatile(con.raw_expr)) return "computes a volatile default for every row (a rewrite)";
        break;
      case "CONSTR_GENERATED":
        if (con.generated_when !== undefined || con.raw_expr) return "computes a stored generated value for every row (a rewrite)";
        break;
      case "CONSTR_IDENTITY":
        return "fills an identity value into every row (a rewrite)";
      case "CONSTR_PRIMARY":
      case "CONSTR_UNIQUE":
        return "builds a unique index over the whole table";
      case "CONSTR_CHECK":
        return "checks every row against the new CHECK";
      case "CONSTR_FOREIGN":
        return "validates the new foreign key over every row";
      default:
        break;
    }
  }
  return null;
}

export interface LockFacts {
  /** The column's type on the target (`schema.table.column` → format_type), when known. */
  columnType(table: TableRef, column: string): string | undefined;
  /** A validated CHECK (column IS NOT NULL) exists, so SET NOT NULL needs no scan. */
  notNullCovered(table: TableRef, column: string): boolean;
}

/** Why one ALTER TABLE subcommand keeps its lock beyond a catalog change; null when it does not. */
function alterWork(cmd: AlterTableCmd, table: TableRef, facts: LockFacts): string | null {
  switch (cmd.subtype) {
    case "AT_AddColumn":
      return cmd.def && "ColumnDef" in cmd.def ? addColumnWork(cmd.def.ColumnDef) : null;
    case "AT_AlterColumnType": {
      const def = cmd.def && "ColumnDef" in cmd.def ? cmd.def.ColumnDef : undefined;
      const rewrites = typeChangeRewrites(facts.columnType(table, cmd.name ?? ""), def?.typeName, def?.raw_default);
      return rewrites === false ? null : `rewrites every row to change ${cmd.name}'s type`;
    }
    case "AT_SetNotNull":
      return facts.notNullCovered(table, cmd.name ?? "") ? null : `scans every row to check ${cmd.name} has no nulls`;
    case "AT_AddConstraint": {
      const con = cmd.def && "Constraint" in cmd.def ? cmd.def.Constraint : undefined;
      if (!con || con.skip_validation || con.indexname) return null; // NOT VALID, USING INDEX: catalog only
      if (con.contype === "CONSTR_CHECK") return "checks every existing row against the constraint";
      if (con.contype === "CONSTR_FOREIGN") return "validates the foreign key over every existing row";
      if (con.contype === "CONSTR_PRIMARY" || con.contype === "CONSTR_UNIQUE" || con.contype === "CONSTR_EXCLUSION") return "builds the constraint's index over the whole table";
      return null;
    }
    case "AT_SetTableSpace":
    case "AT_SetLogged":
    case "AT_SetUnLogged":
    case "AT_SetAccessMethod":
      return "rewrites the whole table";
    default:
      return null;
  }
}

/** What the statement itself does for long under its lock, or null when it only changes the catalog. */
export function lockedWork(s: Statement, facts: LockFacts): string | null {
  const [kind, value] = unwrap(s.ast);
  switch (kind) {
    case "AlterTableStmt": {
      const stmt = value as AlterTableStmt;
      const table = tableRef(stmt.relation);
      for (const c of stmt.cmds ?? []) {
        if (!("AlterTableCmd" in c)) continue;
        const why = alterWork(c.AlterTableCmd, table, facts);
        if (why) return why;
      }
      return null;
    }
    case "IndexStmt":
      return (value as IndexStmt).concurrent ? null : "builds the index over the whole table";
    case "VacuumStmt":
      return findNodes<{ defname?: string }>(value, "DefElem").some((d) => d.defname === "full") ? "rewrites the whole table (VACUUM FULL)" : null;
    case "ClusterStmt":
      return "rewrites the whole table in index order (CLUSTER)";
    case "ReindexStmt":
      return findNodes<{ defname?: string }>(value, "DefElem").some((d) => d.defname === "concurrently") ? null : "rebuilds every index of the table";
    case "RefreshMatViewStmt":
      return value.concurrent ? null : "recomputes the whole materialized view";
    case "LockStmt":
      return "holds it on purpose until the transaction ends";
    default:
      return null;
  }
}

/** Row work that keeps a transaction (and every lock taken earlier in it) open for long. */
function rowWork(s: Statement): string | null {
  const [kind, value] = unwrap(s.ast);
  if (kind === "UpdateStmt") return "updates rows";
  if (kind === "DeleteStmt") return "deletes rows";
  if (kind === "InsertStmt" && value.selectStmt && findNodes(value.selectStmt, "fromClause").length > 0) return "copies rows";
  if (kind === "MergeStmt") return "merges rows";
  return null;
}

export const LONG_LOCK_RULE: RuleInfo = {
  id: "console/long-lock",
  source: "console",
  severity: "warning",
  title: "Strong lock held longer than a catalog change",
  why: "While the statement scans or rewrites the table, or until its transaction ends, the application's queries on the table queue behind the lock; use the online form (CONCURRENTLY, NOT VALID then VALIDATE, a new column and a batched backfill), or move the slow work to its own migration.",
};

/**
 * One hit per strong lock on an existing table that outlasts a catalog change: held through the
 * statement's own scan or rewrite, or to the end of its transaction while later statements work.
 */
export function longLockHits(s: Statement, ctx: RuleContext, facts: LockFacts): { message: string }[] {
  const strong = s.analysis.locks.filter(
    (l) => !l.isIndex && STRONG.has(l.level) && ctx.pending.existingTables.has(tableKey(l.relation)) && !ctx.isNewTable(l.relation),
  );
  if (strong.length === 0) return [];
  const own = lockedWork(s, facts);
  if (own) return strong.map((l) => ({ message: `Holds ${l.level} on ${tableKey(l.relation)} while it ${own}: ${blocked(l.level)} until its transaction ends.` }));
  if (!s.analysis.transactional) return [];
  const later = ctx.migration.statements.slice(s.index + 1);
  const end = later.findIndex((n) => !n.analysis.transactional);
  for (const n of end === -1 ? later : later.slice(0, end)) {
    const why = lockedWork(n, facts) ?? rowWork(n);
    if (!why) continue;
    return strong.map((l) => ({
      message: `Holds ${l.level} on ${tableKey(l.relation)} until the transaction commits, through statement ${n.index + 1} (${n.analysis.summary}), which ${why}: ${blocked(l.level)} meanwhile.`,
    }));
  }
  return [];
}
