/** Small readers over libpg-query's raw parse tree, for the console's rules. */
import type { Node, RangeVar, RoleSpec } from "libpg-query";
import type { TableRef } from "../migrations";

/** `{ CreateStmt: {...} }` → ["CreateStmt", {...}]. */
export function unwrap(node: Node | undefined): [string, Record<string, unknown>] {
  const [kind, value] = Object.entries(node ?? {})[0] ?? ["Unknown", {}];
  return [kind, (value ?? {}) as Record<string, unknown>];
}

/** Unqualified names resolve to public, as the catalog's analysis does. */
export function tableRef(rv: RangeVar | undefined): TableRef {
  return { schema: rv?.schemaname ?? "public", name: rv?.relname ?? "?" };
}

export function tableKey(t: TableRef): string {
  return `${t.schema}.${t.name}`;
}

/** Name parts of a `List` of `String`s, a `String` or an `ObjectWithArgs` (a function). */
export function nameParts(node: Node | undefined): string[] {
  if (!node) return [];
  if ("String" in node) return [node.String.sval ?? ""];
  if ("List" in node) return (node.List.items ?? []).flatMap(nameParts);
  if ("ObjectWithArgs" in node) return (node.ObjectWithArgs.objname ?? []).flatMap(nameParts);
  return [];
}

export function partsRef(parts: string[]): TableRef {
  return { schema: parts.length > 1 ? parts.at(-2)! : "public", name: parts.at(-1) ?? "?" };
}

/** Every node of `kind` anywhere below `root` (CTEs and subqueries included). */
export function findNodes<T>(root: unknown, kind: string): T[] {
  const found: T[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!node || typeof node !== "object") return;
    for (const [key, child] of Object.entries(node)) {
      if (key === kind) found.push(child as T);
      visit(child);
    }
  };
  visit(root);
  return found;
}

export function isPublicRole(node: Node): boolean {
  if (!("RoleSpec" in node)) return false;
  const spec: RoleSpec = node.RoleSpec;
  return spec.roletype === "ROLESPEC_PUBLIC" || (spec.roletype === "ROLESPEC_CSTRING" && spec.rolename === "public");
}

const TRUE_WORDS = new Set(["t", "true", "y", "yes", "on", "1"]);

/** An expression that is true whatever the row: `true`, `'t'::boolean`, `1 = 1`, `x OR true`, `true AND true`. */
export function isConstantTrue(node: Node | undefined): boolean {
  if (!node) return false;
  if ("A_Const" in node) return node.A_Const.boolval?.boolval === true;
  if ("TypeCast" in node) {
    const names = (node.TypeCast.typeName?.names ?? []).flatMap(nameParts);
    const type = names.at(-1);
    const arg = node.TypeCast.arg;
    if (type !== "bool" && type !== "boolean") return false;
    if (arg && "A_Const" in arg && arg.A_Const.sval) return TRUE_WORDS.has((arg.A_Const.sval.sval ?? "").toLowerCase());
    return isConstantTrue(arg);
  }
  if ("BoolExpr" in node) {
    const args = node.BoolExpr.args ?? [];
    if (node.BoolExpr.boolop === "OR_EXPR") return args.some(isConstantTrue);
    if (node.BoolExpr.boolop === "AND_EXPR") return args.length > 0 && args.every(isConstantTrue);
    return false;
  }
  if ("A_Expr" in node) {
    const e = node.A_Expr;
    const op = nameParts({ List: { items: e.name ?? [] } }).at(-1);
    if (e.kind !== "AEXPR_OP" || op !== "=") return false;
    return isConstant(e.lexpr) && isConstant(e.rexpr) && sameConstant(e.lexpr!, e.rexpr!);
  }
  return false;
}

function isConstant(node: Node | undefined): node is Node & { A_Const: unknown } {
  return Boolean(node && "A_Const" in node);
}

function sameConstant(a: Node, b: Node): boolean {
  const value = (n: Node) => {
    const { location: _location, ...rest } = (n as { A_Const: Record<string, unknown> }).A_Const;
    return JSON.stringify(rest);
  };
  return value(a) === value(b);
}

/** The terms of a top-level AND (the expression itself when it is not an AND). */
export function conjuncts(node: Node): Node[] {
  if ("BoolExpr" in node && node.BoolExpr.boolop === "AND_EXPR") return (node.BoolExpr.args ?? []).flatMap(conjuncts);
  return [node];
}

/**
 * Whether every row the expression accepts has `key = <the current clinic setting>`: the comparison
 * must be one of the expression's top-level AND terms (inside an OR it restricts nothing).
 */
export function requiresTenantPredicate(expr: Node, key: string, setting: string): boolean {
  return conjuncts(expr).some((term) => {
    if (!("A_Expr" in term)) return false;
    const e = term.A_Expr;
    const op = nameParts({ List: { items: e.name ?? [] } }).at(-1);
    if (e.kind !== "AEXPR_OP" || op !== "=" || !e.lexpr || !e.rexpr) return false;
    return (
      (isColumn(e.lexpr, key) && readsSetting(e.rexpr, setting)) || (isColumn(e.rexpr, key) && readsSetting(e.lexpr, setting))
    );
  });
}

function isColumn(node: Node, name: string): boolean {
  if (!("ColumnRef" in node)) return false;
  const last = node.ColumnRef.fields?.at(-1);
  return Boolean(last && "String" in last && last.String.sval === name);
}

/** `current_setting('<setting>' ...)` anywhere in the expression (NULLIF and casts around it are fine). */
function readsSetting(node: Node, setting: string): boolean {
  return findNodes<{ funcname?: Node[]; args?: Node[] }>(node, "FuncCall").some((call) => {
    const name = (call.funcname ?? []).flatMap(nameParts).at(-1);
    const first = call.args?.[0];
    return name === "current_setting" && first !== undefined && "A_Const" in first && first.A_Const.sval?.sval === setting;
  });
}

/** `defGetBoolean`: an option given without a value is on. */
export function roleOptionOn(options: Node[] | undefined, name: string): boolean {
  return (options ?? []).some((o) => {
    if (!("DefElem" in o) || o.DefElem.defname !== name) return false;
    const arg = o.DefElem.arg;
    if (!arg) return true;
    if ("Boolean" in arg) return Boolean(arg.Boolean.boolval);
    if ("Integer" in arg) return (arg.Integer.ival ?? 0) !== 0;
    return true;
  });
}
