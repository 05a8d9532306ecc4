/**
 * What a migration script destroys or rewrites, in two steps:
 * 1. `destroyTargets`: from the parse tree alone (pure), which tables, columns and rows each statement
 *    drops, truncates, deletes, overwrites or converts to another type.
 * 2. `resolveDestroys`: against the target's catalog as it is before the script runs, the exact data
 *    that is at stake, merged per table: CASCADE and DROP SCHEMA expanded to the tables they reach,
 *    the table's primary key (how a backup is matched back), row and byte estimates from the
 *    statistics (pg_class, pg_stats, EXPLAIN for a predicate) and whether the data is tagged in
 *    db/schema's classification (retired tags included).
 * The plan lists the result; the executor's backup step (backup.ts) copies exactly it.
 */
import { scanSync, type Node } from "libpg-query";
import type postgres from "postgres";
import { connect } from "../connection/connect";
import { classificationOf, type DataClass, DATA_CLASSES } from "../../db/schema/classification";
import type { SqlScript, Statement } from "../migrations";
import type { SchemaDiff } from "../plan/diff";
import type { Unit } from "./selection";
import { unwrap } from "../migrations/analyze";
import { formatBytes } from "./backup-text";
import { sqlLiteral } from "../ledger";

export type DestroyKind = "drop-table" | "drop-schema" | "drop-type" | "drop-extension" | "drop-column" | "alter-type" | "truncate" | "delete" | "update";

/**
 * One statement's destruction, named as the tables and columns were before the script ran (renames
 * earlier in the script undone). An unqualified table's schema is "public" until resolveDestroys
 * looks it up through `searchPath`.
 */
export interface DestroyTarget {
  kind: DestroyKind;
  schema: string;
  /** The table was named without a schema: resolved on the target through the search_path. */
  unqualified: boolean;
  /** The search_path a SET in the script chose before this statement; null = the session's own. */
  searchPath: string[] | null;
  /** null for drop-schema (every table of the schema), drop-type and drop-extension (every column of the type). */
  table: string | null;
  /** The type (drop-type) or extension (drop-extension) whose columns CASCADE drops. */
  object?: string;
  /** The columns destroyed or rewritten; null = whole rows. */
  columns: string[] | null;
  /** The WHERE clause of a DELETE or UPDATE when the affected rows can be selected with it; null = every row. */
  predicate: string | null;
  /** The alias the predicate uses for the table (`DELETE FROM patients p WHERE p.x ...`). */
  alias: string | null;
  cascade: boolean;
  /** 1-based statement number in its file. */
  statement: number;
  summary: string;
  /** Why every row is taken although the statement has a WHERE clause. */
  note: string | null;
}

type Cmd = { subtype?: string; name?: string; behavior?: string };

/**
 * What the script did to names so far, in statement order: a table renamed or moved, or a column
 * renamed, is destroyed later under its new name but backed up (and restored) under its old one.
 */
interface ScriptNames {
  searchPath: string[] | null;
  /** `schema-as-written\0table` now -> the table before the script. */
  tables: Map<string, { schema: string | null; table: string; searchPath: string[] | null }>;
  /** `schema-as-written\0table\0column` (table before the script) now -> the column before the script. */
  columns: Map<string, string>;
}

type RangeVarLike = { schemaname?: string; relname?: string } | undefined;

/** Pure: every destruction the script's statements name. */
export function destroyTargets(script: SqlScript): DestroyTarget[] {
  const names: ScriptNames = { searchPath: null, tables: new Map(), columns: new Map() };
  return script.statements.flatMap((s) => statementTargets(s, names));
}

/** The table a RangeVar names, as it was before the script (its schema null when unqualified). */
function originalTable(names: ScriptNames, rv: RangeVarLike): { schema: string | null; table: string; searchPath: string[] | null } {
  const schema = rv?.schemaname ?? null;
  const table = rv?.relname ?? "?";
  return names.tables.get(`${schema ?? ""}\u0000${table}`) ?? { schema, table, searchPath: names.searchPath };
}

function originalColumn(names: ScriptNames, t: { schema: string | null; table: string }, column: string): string {
  return names.columns.get(`${t.schema ?? ""}\u0000${t.table}\u0000${column}`) ?? column;
}

/** Follows SET search_path, renames and SET SCHEMA of tables and renames of columns. */
function trackNames(kind: string, value: Record<string, unknown>, names: ScriptNames): void {
  if (kind === "VariableSetStmt" && value.name === "search_path") {
    if (value.kind !== "VAR_SET_VALUE") {
      names.searchPath = null;
      return;
    }
    names.searchPath = ((value.args as Node[] | undefined) ?? []).flatMap((a) => {
      const c = (a as { A_Const?: { sval?: { sval?: string } } }).A_Const;
      return c?.sval?.sval !== undefined ? [c.sval.sval] : [];
    });
    return;
  }
  if (kind === "RenameStmt" && value.relation && value.newname) {
    const rv = value.relation as RangeVarLike;
    const original = originalTable(names, rv);
    if (value.renameType === "OBJECT_TABLE") names.tables.set(`${rv?.schemaname ?? ""}\u0000${value.newname as string}`, original);
    if (value.renameType === "OBJECT_COLUMN" && value.subname) {
      names.columns.set(`${original.schema ?? ""}\u0000${original.table}\u0000${value.newname as string}`, originalColumn(names, original, value.subname as string));
    }
    return;
  }
  if (kind === "AlterObjectSchemaStmt" && value.objectType === "OBJECT_TABLE" && value.relation && value.newschema) {
    const rv = value.relation as RangeVarLike;
    names.tables.set(`${value.newschema as string}\u0000${rv?.relname ?? "?"}`, originalTable(names, rv));
  }
}

function statementTargets(s: Statement, names: ScriptNames): DestroyTarget[] {
  const [kind, value] = unwrap(s.ast);
  trackNames(kind, value, names);
  const base = { statement: s.index + 1, summary: s.analysis.summary, predicate: null, alias: null, note: null, cascade: false };
  const out: DestroyTarget[] = [];
  const named = (t: { schema: string | null; table: string; searchPath: string[] | null }) => ({ schema: t.schema ?? "public", table: t.table, unqualified: t.schema === null, searchPath: t.searchPath });
  const rel = (rv: RangeVarLike) => named(originalTable(names, rv));
  /** A column of the table `rv` names, as it was called before the script. */
  const column = (rv: RangeVarLike, name: string) => originalColumn(names, originalTable(names, rv), name);
  switch (kind) {
    case "DropStmt": {
      const type = (value.removeType as string | undefined) ?? "OBJECT_TABLE";
      const cascade = value.behavior === "DROP_CASCADE";
      for (const object of (value.objects as Node[] | undefined) ?? []) {
        const parts = nameParts(object);
        if (type === "OBJECT_TABLE") {
          out.push({ ...base, kind: "drop-table", ...rel({ schemaname: parts.length > 1 ? parts.at(-2)! : undefined, relname: parts.at(-1) ?? "?" }), columns: null, cascade });
        } else if (type === "OBJECT_SCHEMA" && cascade) {
          out.push({ ...base, kind: "drop-schema", schema: parts[0] ?? "?", unqualified: false, searchPath: null, table: null, columns: null, cascade });
        } else if ((type === "OBJECT_TYPE" || type === "OBJECT_DOMAIN") && cascade) {
          const named = { schema: parts.length > 1 ? parts.at(-2)! : "public", unqualified: parts.length < 2, searchPath: names.searchPath };
          out.push({ ...base, kind: "drop-type", ...named, table: null, object: parts.at(-1) ?? "?", columns: null, cascade });
        } else if (type === "OBJECT_EXTENSION" && cascade) {
          out.push({ ...base, kind: "drop-extension", schema: "public", unqualified: false, searchPath: null, table: null, object: parts[0] ?? "?", columns: null, cascade });
        }
      }
      break;
    }
    case "AlterTableStmt": {
      if ((value.objtype ?? "OBJECT_TABLE") !== "OBJECT_TABLE") break;
      const target = rel(value.relation as never);
      for (const node of (value.cmds as Node[] | undefined) ?? []) {
        if (!("AlterTableCmd" in node)) continue;
        const cmd = node.AlterTableCmd as Cmd;
        if (!cmd.name) continue;
        const name = column(value.relation as never, cmd.name);
        if (cmd.subtype === "AT_DropColumn") out.push({ ...base, kind: "drop-column", ...target, columns: [name], cascade: cmd.behavior === "DROP_CASCADE" });
        if (cmd.subtype === "AT_AlterColumnType") out.push({ ...base, kind: "alter-type", ...target, columns: [name] });
      }
      break;
    }
    case "TruncateStmt": {
      const cascade = value.behavior === "DROP_CASCADE";
      for (const r of (value.relations as Node[] | undefined) ?? []) {
        if ("RangeVar" in r) out.push({ ...base, kind: "truncate", ...rel(r.RangeVar), columns: null, cascade });
      }
      break;
    }
    case "DeleteStmt":
    case "UpdateStmt": {
      const target = rel(value.relation as never);
      const alias = ((value.relation as { alias?: { aliasname?: string } } | undefined)?.alias?.aliasname ?? null) as string | null;
      const where = derivablePredicate(s, value);
      const columns =
        kind === "UpdateStmt"
          ? setColumns(value.relation as never, value.targetList as Node[] | undefined)
          : null;
      out.push({ ...base, kind: kind === "DeleteStmt" ? "delete" : "update", ...target, columns, predicate: where.predicate, alias: where.predicate ? alias : null, note: where.note });
      break;
    }
    case "MergeStmt": {
      // WHEN MATCHED (or NOT MATCHED BY SOURCE) actions delete or overwrite target rows the join picks: every row is taken.
      const target = rel(value.relation as never);
      const note = "a MERGE deletes or overwrites the rows its join matches: every row is taken";
      for (const node of (value.mergeWhenClauses as Node[] | undefined) ?? []) {
        const when = (node as { MergeWhenClause?: { matchKind?: string; commandType?: string; targetList?: Node[] } }).MergeWhenClause;
        if (!when || when.matchKind === "MERGE_WHEN_NOT_MATCHED_BY_TARGET") continue;
        if (when.commandType === "CMD_DELETE") out.push({ ...base, kind: "delete", ...target, columns: null, note });
        if (when.commandType === "CMD_UPDATE") out.push({ ...base, kind: "update", ...target, columns: setColumns(value.relation as never, when.targetList), note });
      }
      break;
    }
    case "InsertStmt": {
      const conflict = value.onConflictClause as { action?: string; targetList?: Node[] } | undefined;
      if (conflict?.action !== "ONCONFLICT_UPDATE") break;
      const note = "INSERT ... ON CONFLICT DO UPDATE overwrites the rows it conflicts with: every row is taken";
      out.push({ ...base, kind: "update", ...rel(value.relation as never), columns: setColumns(value.relation as never, conflict.targetList), note });
      break;
    }
    default:
      break;
  }
  return out;

  /** The columns a SET list assigns (`SET (a, b) = ...` names each), as called before the script. */
  function setColumns(rv: RangeVarLike, targets: Node[] | undefined): string[] {
    return [...new Set((targets ?? []).flatMap((t) => ("ResTarget" in t && t.ResTarget.name ? [column(rv, t.ResTarget.name)] : [])))];
  }
}

/**
 * The WHERE clause as text when selecting with it before the statement runs picks the same rows: it
 * reads only the table itself and no function (a function may be volatile, and `now()` moves between
 * the backup and the statement). Otherwise every row is taken, and `note` says why.
 */
function derivablePredicate(s: Statement, value: Record<string, unknown>): { predicate: string | null; note: string | null } {
  if (!value.whereClause) return { predicate: null, note: null };
  if (value.withClause) return { predicate: null, note: "the statement has a WITH clause: every row is taken" };
  if ((value.usingClause as unknown[] | undefined)?.length || (value.fromClause as unknown[] | undefined)?.length) {
    return { predicate: null, note: "the WHERE clause joins other tables: every row is taken" };
  }
  const opaque = findKinds(value.whereClause, ["FuncCall", "SubLink", "SQLValueFunction", "ParamRef", "CurrentOfExpr", "RangeVar"]);
  if (opaque) return { predicate: null, note: `the WHERE clause uses ${OPAQUE_WORDS[opaque]}: every row is taken` };
  const text = whereText(s.sql);
  return text ? { predicate: text, note: null } : { predicate: null, note: "the WHERE clause could not be isolated: every row is taken" };
}

const OPAQUE_WORDS: Record<string, string> = {
  FuncCall: "a function call",
  SubLink: "a subquery",
  SQLValueFunction: "the current date or user",
  ParamRef: "a parameter",
  CurrentOfExpr: "a cursor",
  RangeVar: "another table",
};

function findKinds(node: unknown, kinds: string[]): string | null {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findKinds(item, kinds);
      if (found) return found;
    }
    return null;
  }
  if (!node || typeof node !== "object") return null;
  for (const [key, child] of Object.entries(node)) {
    if (kinds.includes(key)) return key;
    const found = findKinds(child, kinds);
    if (found) return found;
  }
  return null;
}

/** The text between the top-level WHERE keyword and a top-level RETURNING (or the end), from the scanner's tokens. */
function whereText(sql: string): string | null {
  const bytes = Buffer.from(sql, "utf8");
  let depth = 0;
  let start: number | null = null;
  let end = bytes.length;
  for (const token of scanSync(sql).tokens) {
    if (token.text === "(") depth++;
    else if (token.text === ")") depth--;
    else if (depth === 0 && token.keywordName && token.text.toUpperCase() === "WHERE" && start === null) start = token.end;
    else if (depth === 0 && start !== null && token.text.toUpperCase() === "RETURNING") {
      end = token.start;
      break;
    }
  }
  if (start === null) return null;
  const text = bytes.subarray(start, end).toString("utf8").trim();
  return text || null;
}

function nameParts(node: Node | undefined): string[] {
  if (!node) return [];
  if ("String" in node) return [node.String.sval ?? ""];
  if ("TypeName" in node) return (node.TypeName.names ?? []).flatMap(nameParts);
  if ("List" in node) return (node.List.items ?? []).flatMap(nameParts);
  return [];
}

// ---------------------------------------------------------------------------------------------
// Against the target's catalog

/** The data one migration destroys or rewrites in one table, as a backup must copy it. */
export interface DestroyedData {
  tag: string;
  schema: string;
  table: string;
  /** Rows are removed (drop, truncate, delete): a restore inserts the rows that are missing. */
  rowsRemoved: boolean;
  /** Columns whose values are removed or rewritten: a restore writes them back by primary key. Empty when rowsRemoved covers all. */
  columns: string[];
  /** Only the rows matching this WHERE clause are affected; null = every row. */
  predicate: string | null;
  alias: string | null;
  /** The table's primary key: how a copy is matched back. Empty when it has none. */
  keyColumns: string[];
  /** Every column of the table (what a whole-row copy holds), generated columns excluded. */
  allColumns: string[];
  estimatedRows: number | null;
  estimatedBytes: number | null;
  /** Tagged columns at stake (db/schema classification, retired tags included) and their classes. */
  taggedColumns: string[];
  classes: DataClass[];
  tagged: boolean;
  statements: { number: number; kind: DestroyKind; summary: string }[];
  /** Whether a rollback can put it back by primary key (the notes say why not). */
  restorable: boolean;
  notes: string[];
  /** "rehearsal": only the rehearsal's schema diff shows it (a DO block, a function): the executor cannot back it up. */
  foundBy: "statements" | "rehearsal";
}

type Client = postgres.Sql | postgres.TransactionSql;

interface TableFacts {
  exists: boolean;
  keyColumns: string[];
  columns: string[];
  reltuples: number;
  tableBytes: number;
}

async function tableFacts(sql: Client, schema: string, table: string): Promise<TableFacts> {
  // One simple-protocol message (a bound parameter would cost postgres.js a describe round trip
  // first): no row when the name resolves to nothing.
  const name = sqlLiteral(`"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`);
  const [facts] = await sql.unsafe<{ key: string[] | null; columns: string[]; reltuples: number; bytes: number; relkind: string }[]>(`
    select
      (select to_jsonb(array_agg(a.attname::text order by k.ord))
         from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
         where i.indrelid = c.oid and i.indisprimary) as key,
      (select coalesce(to_jsonb(array_agg(a.attname::text order by a.attnum)), '[]') from pg_attribute a
         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '') as columns,
      c.reltuples::float8 as reltuples, pg_table_size(c.oid)::float8 as bytes, c.relkind::text as relkind
    from pg_class c where c.oid = to_regclass(${name})`).simple();
  if (!facts || !["r", "p"].includes(facts.relkind)) return { exists: false, keyColumns: [], columns: [], reltuples: 0, tableBytes: 0 };
  return { exists: true, keyColumns: facts.key ?? [], columns: facts.columns, reltuples: facts.reltuples, tableBytes: facts.bytes };
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;
const SMALL_TABLE_BYTES = 64 * 1024 * 1024;

/** Rows the item reaches: the planner's estimate, or an exact count where the table was never analyzed and is small. */
async function estimateRows(sql: Client, item: DestroyedData, facts: TableFacts): Promise<number | null> {
  const from = `${q(item.schema)}.${q(item.table)}${item.alias ? ` AS ${q(item.alias)}` : ""}`;
  if (item.predicate) {
    try {
      const [plan] = await sql.unsafe<{ "QUERY PLAN": [{ Plan: { "Plan Rows": number } }] }[]>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${from} WHERE ${item.predicate}`);
      return Math.round(plan!["QUERY PLAN"][0].Plan["Plan Rows"]);
    } catch {
      return null;
    }
  }
  if (facts.reltuples >= 0) return Math.round(facts.reltuples);
  if (facts.tableBytes > SMALL_TABLE_BYTES) return null;
  const [row] = await sql.unsafe<{ n: number }[]>(`SELECT count(*)::float8 AS n FROM ${from}`);
  return row!.n;
}

async function estimateBytes(sql: Client, item: DestroyedData, facts: TableFacts, rows: number | null): Promise<number | null> {
  if (rows === null) return null;
  const copied = copiedColumns(item);
  const stats = await sql<{ name: string; width: number }[]>`
    select attname::text as name, avg_width::float8 as width from pg_stats
    where schemaname = ${item.schema} and tablename = ${item.table} and attname in (select jsonb_array_elements_text(${JSON.stringify(copied)}::text::jsonb))`;
  if (stats.length === copied.length) return Math.round(rows * stats.reduce((n, s) => n + s.width, 0));
  if (item.rowsRemoved && !item.predicate) return facts.tableBytes;
  if (facts.tableBytes > SMALL_TABLE_BYTES) return null;
  const from = `${q(item.schema)}.${q(item.table)}${item.alias ? ` AS ${q(item.alias)}` : ""}`;
  const [row] = await sql.unsafe<{ n: number | null }[]>(
    `SELECT sum(${copied.map((c) => `coalesce(pg_column_size(${q(c)}), 0)`).join(" + ")})::float8 AS n FROM ${from}${item.predicate ? ` WHERE ${item.predicate}` : ""}`,
  );
  return Math.round(row!.n ?? 0);
}

/** The columns a backup of the item copies: the key and the destroyed columns, or whole rows. */
export function copiedColumns(item: DestroyedData): string[] {
  if (item.rowsRemoved || item.keyColumns.length === 0) return item.allColumns;
  return [...item.keyColumns, ...item.columns.filter((c) => !item.keyColumns.includes(c))];
}

/** Tables reached by TRUNCATE ... CASCADE (referencing tables, transitively). */
async function referencingTables(sql: Client, schema: string, table: string): Promise<{ schema: string; table: string }[]> {
  return sql<{ schema: string; table: string }[]>`
    with recursive refs(oid) as (
      select con.conrelid from pg_constraint con
      where con.contype = 'f' and con.confrelid = to_regclass(${`${q(schema)}.${q(table)}`})
      union
      select con.conrelid from pg_constraint con join refs on con.confrelid = refs.oid where con.contype = 'f'
    )
    select n.nspname::text as schema, c.relname::text as table from refs join pg_class c on c.oid = refs.oid join pg_namespace n on n.oid = c.relnamespace
    where c.oid <> to_regclass(${`${q(schema)}.${q(table)}`}) order by 1, 2`;
}

/** Tables inheriting from one (dropped with it by DROP TABLE ... CASCADE); partitions are copied through their parent. */
async function inheritingTables(sql: Client, schema: string, table: string): Promise<{ schema: string; table: string }[]> {
  return sql<{ schema: string; table: string }[]>`
    with recursive kids(oid) as (
      select i.inhrelid from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = to_regclass(${`${q(schema)}.${q(table)}`}) and not c.relispartition
      union
      select i.inhrelid from pg_inherits i join kids on i.inhparent = kids.oid
    )
    select n.nspname::text as schema, c.relname::text as table from kids join pg_class c on c.oid = kids.oid join pg_namespace n on n.oid = c.relnamespace order by 1, 2`;
}

/**
 * Foreign keys whose ON DELETE acts on rows deleted from `schema.table`: CASCADE deletes the
 * referencing rows, SET NULL and SET DEFAULT rewrite their key columns. Partitions are reached
 * through their parent's constraint.
 */
async function deleteActions(sql: Client, schema: string, table: string): Promise<{ schema: string; table: string; action: "c" | "n" | "d"; columns: string[]; refColumns: string[] }[]> {
  const name = `${q(schema)}.${q(table)}`;
  return sql<{ schema: string; table: string; action: "c" | "n" | "d"; columns: string[]; refColumns: string[] }[]>`
    select n.nspname::text as schema, c.relname::text as table, con.confdeltype::text as action,
      to_jsonb(array(select a.attname::text from unnest(con.conkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.ord)) as columns,
      to_jsonb(array(select a.attname::text from unnest(con.confkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.ord)) as "refColumns"
    from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
    where con.contype = 'f' and con.confrelid = to_regclass(${name}) and con.confdeltype in ('c', 'n', 'd') and not c.relispartition
    order by 1, 2, con.conname`;
}

/**
 * The schema an unqualified table name resolves to on the target, as the statement would resolve it:
 * through the script's SET search_path, or the session's own (the backup reads on the session that
 * runs the migration). "public" when no relation by that name is visible: there is nothing to copy.
 */
async function schemaOnPath(sql: Client, table: string, searchPath: string[] | null): Promise<string> {
  const [row] =
    searchPath === null
      ? await sql.unsafe<{ schema: string }[]>(`select n.nspname::text as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass(${sqlLiteral(q(table))})`).simple()
      : await sql<{ schema: string }[]>`
          select n.nspname::text as schema from jsonb_array_elements_text(${JSON.stringify(searchPath)}::text::jsonb) with ordinality p(name, ord)
          join pg_namespace n on n.nspname = (case when p.name = '$user' then current_user::text else p.name end)
          join pg_class c on c.relnamespace = n.oid and c.relname = ${table}
          order by p.ord limit 1`;
  return row?.schema ?? "public";
}

/** Whether a WHERE clause can be evaluated on the table as it is before the script (it may name a column the script adds). */
async function predicateReadable(sql: Client, from: string, predicate: string): Promise<boolean> {
  try {
    await sql.unsafe(`EXPLAIN SELECT 1 FROM ${from} WHERE ${predicate}`).simple();
    return true;
  } catch {
    return false;
  }
}

/**
 * The table columns DROP TYPE / DROP DOMAIN / DROP EXTENSION ... CASCADE drops with `t`: columns of
 * the type (or of the extension's types), of a domain over it and of an array of either. The
 * backups' own copies (backup.ts's schema) are not data of the application.
 */
async function columnsOfDroppedType(sql: Client, t: DestroyTarget): Promise<{ schema: string; table: string; column: string }[]> {
  const roots =
    t.kind === "drop-extension"
      ? `select d.objid from pg_depend d join pg_extension e on e.oid = d.refobjid
           where d.classid = 'pg_type'::regclass and d.refclassid = 'pg_extension'::regclass and d.deptype = 'e' and e.extname = ${sqlLiteral(t.object ?? "")}`
      : `select coalesce(${(t.unqualified ? [...(t.searchPath ?? []).filter((s) => s !== "$user").map((s) => `${q(s)}.${q(t.object ?? "")}`), ...(t.searchPath ? [] : [q(t.object ?? "")])] : [`${q(t.schema)}.${q(t.object ?? "")}`])
          .map((name) => `to_regtype(${sqlLiteral(name)})::oid`)
          .join(", ")}, null)`;
  return sql.unsafe<{ schema: string; table: string; column: string }[]>(`
    with recursive types(oid) as (
      ${roots}
      union
      select d.oid from pg_type d join types on d.typbasetype = types.oid where d.typtype = 'd'
    ), reached as (
      select oid from types union select typarray from pg_type where oid in (select oid from types) and typarray <> 0
    )
    select n.nspname::text as schema, c.relname::text as table, a.attname::text as column
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where a.atttypid in (select oid from reached where oid is not null) and a.attnum > 0 and not a.attisdropped
      and c.relkind in ('r', 'p') and not c.relispartition and n.nspname <> 'migration_console_backup'
    order by 1, 2, a.attnum`).simple();
}

async function tablesOfSchema(sql: Client, schema: string): Promise<{ schema: string; table: string }[]> {
  return sql<{ schema: string; table: string }[]>`
    select n.nspname::text as schema, c.relname::text as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p') and not c.relispartition order by 2`;
}

/**
 * The data `script` (of migration `tag`) destroys on the database `sql` is connected to, as it is
 * now, merged per table. Tables that do not exist yet (created earlier in the same script) hold
 * nothing to lose and are left out. `estimates: false` leaves the row and byte estimates null (a
 * backup counts what it copies; only a plan or a declined backup shows estimates).
 */
export async function resolveDestroys(sql: Client, tag: string, script: SqlScript, options: { estimates?: boolean } = {}): Promise<DestroyedData[]> {
  const targets = destroyTargets(script);
  if (targets.length === 0) return [];
  const resolved = new Map<string, string>();
  for (const t of targets) {
    if (!t.unqualified || t.table === null) continue;
    const key = `${t.table}\u0000${JSON.stringify(t.searchPath)}`;
    if (!resolved.has(key)) resolved.set(key, await schemaOnPath(sql, t.table, t.searchPath));
    t.schema = resolved.get(key)!;
  }
  const byTable = new Map<string, { schema: string; table: string; parts: (DestroyTarget & { table: string })[]; notes: string[] }>();
  const add = (schema: string, table: string, target: DestroyTarget, note?: string) => {
    const key = `${schema}.${table}`;
    const entry = byTable.get(key) ?? { schema, table, parts: [], notes: [] };
    entry.parts.push({ ...target, schema, table });
    if (note && !entry.notes.includes(note)) entry.notes.push(note);
    if (target.note && !entry.notes.includes(target.note)) entry.notes.push(target.note);
    byTable.set(key, entry);
  };
  // The rows a DELETE reaches through foreign keys: the referencing rows whose key is among the
  // deleted ones, selected before the DELETE runs (transitively for CASCADE).
  const followDeleteActions = async (parent: DestroyTarget & { table: string }, seen: Set<string>): Promise<void> => {
    const from = `${q(parent.schema)}.${q(parent.table)}${parent.alias ? ` AS ${q(parent.alias)}` : ""}`;
    const owner = parent.alias ? q(parent.alias) : `${q(parent.schema)}.${q(parent.table)}`;
    for (const fk of await deleteActions(sql, parent.schema, parent.table)) {
      const predicate = `(${fk.columns.map(q).join(", ")}) IN (SELECT ${fk.refColumns.map((c) => `${owner}.${q(c)}`).join(", ")} FROM ${from}${parent.predicate ? ` WHERE ${parent.predicate}` : ""})`;
      const cascaded = fk.action === "c";
      const child = { ...parent, kind: cascaded ? ("delete" as const) : ("update" as const), schema: fk.schema, table: fk.table, columns: cascaded ? null : fk.columns, predicate, alias: null, note: null };
      const how = cascaded ? "deleted by ON DELETE CASCADE" : `${fk.columns.join(", ")} set to ${fk.action === "n" ? "NULL" : "the default"} by ON DELETE`;
      add(fk.schema, fk.table, child, `rows ${how} from ${parent.schema}.${parent.table}`);
      const key = `${fk.schema}.${fk.table}`;
      if (cascaded && !seen.has(key)) await followDeleteActions(child, new Set([...seen, key]));
    }
  };
  for (const t of targets) {
    if (t.kind === "drop-type" || t.kind === "drop-extension") {
      for (const c of await columnsOfDroppedType(sql, t)) {
        add(c.schema, c.table, { ...t, kind: "drop-column", table: c.table, columns: [c.column] }, `dropped with ${t.kind === "drop-type" ? "type" : "extension"} ${t.object} (CASCADE)`);
      }
      continue;
    }
    if (t.kind === "drop-schema") {
      for (const r of await tablesOfSchema(sql, t.schema)) add(r.schema, r.table, { ...t, kind: "drop-table", table: r.table }, `dropped with schema ${t.schema} (CASCADE)`);
      continue;
    }
    add(t.schema, t.table!, t);
    if (t.kind === "delete") await followDeleteActions({ ...t, table: t.table! }, new Set([`${t.schema}.${t.table}`]));
    if (t.kind === "truncate" && t.cascade) {
      for (const r of await referencingTables(sql, t.schema, t.table!)) add(r.schema, r.table, { ...t, ...r }, `truncated by CASCADE from ${t.schema}.${t.table}`);
    }
    if (t.kind === "drop-table" && t.cascade) {
      for (const r of await inheritingTables(sql, t.schema, t.table!)) add(r.schema, r.table, { ...t, ...r }, `dropped by CASCADE with ${t.schema}.${t.table}`);
    }
  }

  const out: DestroyedData[] = [];
  for (const entry of byTable.values()) {
    const facts = await tableFacts(sql, entry.schema, entry.table);
    if (!facts.exists) continue;
    const removing = entry.parts.filter((p) => ["drop-table", "truncate", "delete"].includes(p.kind));
    const rowsRemoved = removing.length > 0;
    const columns = [...new Set(entry.parts.flatMap((p) => p.columns ?? []))].filter((c) => facts.columns.includes(c));
    // One predicate only when every statement on the table selects the same rows with it.
    const predicates = new Set(entry.parts.map((p) => (p.predicate ? `${p.alias ?? ""}\u0000${p.predicate}` : "")));
    const only = entry.parts[0]!;
    let predicate = predicates.size === 1 && only.predicate ? only.predicate : null;
    if (predicates.size > 1) entry.notes.push("statements on this table select different rows: every row is taken");
    if (predicate && !(await predicateReadable(sql, `${q(entry.schema)}.${q(entry.table)}${only.alias ? ` AS ${q(only.alias)}` : ""}`, predicate))) {
      predicate = null;
      entry.notes.push("the WHERE clause names what the script changes first (a column it adds or renames): every row is taken");
    }
    const notes = [...entry.notes];
    if (!rowsRemoved && columns.length === 0) continue; // e.g. a column added and dropped within the script
    if (facts.keyColumns.length === 0) {
      notes.push("the table has no primary key: whole rows are copied, and a rollback cannot match them back (restore by hand from the backup)");
    }
    const item: DestroyedData = {
      tag,
      schema: entry.schema,
      table: entry.table,
      rowsRemoved,
      columns: rowsRemoved ? columns.filter((c) => entry.parts.some((p) => p.kind !== "delete" && p.kind !== "truncate" && p.kind !== "drop-table" && p.columns?.includes(c))) : columns,
      predicate,
      alias: predicate ? only.alias : null,
      keyColumns: facts.keyColumns,
      allColumns: facts.columns,
      estimatedRows: null,
      estimatedBytes: null,
      taggedColumns: [],
      classes: [],
      tagged: false,
      statements: entry.parts.map((p) => ({ number: p.statement, kind: p.kind, summary: p.summary })),
      restorable: facts.keyColumns.length > 0,
      notes,
      foundBy: "statements",
    };
    await describeAtStake(sql, item, facts, options.estimates ?? true);
    out.push(item);
  }
  return out;
}

/** Tags and estimates of one item, from the classification and the target's statistics. */
async function describeAtStake(sql: Client, item: DestroyedData, facts: TableFacts, estimates = true): Promise<void> {
  const atStake = item.rowsRemoved ? facts.columns : item.columns;
  const classified = atStake.map((c) => [c, classificationOf(item.schema, item.table, c)] as const).filter(([, cls]) => cls !== null);
  item.taggedColumns = classified.map(([c]) => c);
  item.classes = DATA_CLASSES.filter((cls) => classified.some(([, c]) => c === cls));
  item.tagged = classified.length > 0;
  if (!estimates) return;
  item.estimatedRows = await estimateRows(sql, item, facts);
  item.estimatedBytes = await estimateBytes(sql, item, facts, item.estimatedRows);
}

/**
 * What a plan's migrations destroy on the target at `url`: per migration from its statements, plus
 * what only the rehearsal's schema diff shows (a table or column removed, or a column's type changed,
 * by a statement the analysis cannot see into), which the executor cannot back up by itself.
 */
export async function destroyedByPlan(url: string, units: Unit[], schemaDiff: SchemaDiff | null): Promise<DestroyedData[]> {
  if (units.length === 0) return [];
  const sql = connect(url, { application: "migration-console destroys" });
  try {
    const out: DestroyedData[] = [];
    for (const unit of units) out.push(...(await resolveDestroys(sql, unit.migration.tag, unit.script)));
    for (const found of fromRehearsal(units, schemaDiff)) {
      const covered = out.some((d) => d.schema === found.schema && d.table === found.table && (d.rowsRemoved || (found.column !== null && d.columns.includes(found.column))));
      if (covered) continue;
      const facts = await tableFacts(sql, found.schema, found.table);
      if (!facts.exists || (found.column && !facts.columns.includes(found.column))) continue;
      const item: DestroyedData = {
        tag: units.length === 1 ? units[0]!.migration.tag : units.map((u) => u.migration.tag).join(", "),
        schema: found.schema,
        table: found.table,
        rowsRemoved: found.column === null,
        columns: found.column ? [found.column] : [],
        predicate: null,
        alias: null,
        keyColumns: facts.keyColumns,
        allColumns: facts.columns,
        estimatedRows: null,
        estimatedBytes: null,
        taggedColumns: [],
        classes: [],
        tagged: false,
        statements: [],
        restorable: false,
        notes: [`only the rehearsal shows this ${found.what}: no statement names it (a DO block, a function or CASCADE), so the executor does not back it up; back it up by hand or make the migration say it`],
        foundBy: "rehearsal",
      };
      await describeAtStake(sql, item, facts);
      out.push(item);
    }
    return out;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function fromRehearsal(units: Unit[], diff: SchemaDiff | null): { schema: string; table: string; column: string | null; what: string }[] {
  if (!diff) return [];
  const renamed = new Set(
    units.flatMap((u) => u.script.statements.filter((s) => s.analysis.kind === "RenameStmt").flatMap((s) => s.analysis.tables.map((t) => `${t.schema}.${t.name}`))),
  );
  const out: { schema: string; table: string; column: string | null; what: string }[] = [];
  for (const c of diff.changes) {
    const b = c.before as { schema?: string; name?: string; table?: string } | null;
    if (!b?.schema) continue;
    if (c.section === "tables" && c.change === "removed" && b.name && !renamed.has(`${b.schema}.${b.name}`)) {
      out.push({ schema: b.schema, table: b.name, column: null, what: "dropped table" });
    }
    if (c.section === "columns" && b.table && b.name && !renamed.has(`${b.schema}.${b.table}`)) {
      if (c.change === "removed") out.push({ schema: b.schema, table: b.table, column: b.name, what: "dropped column" });
      if (c.change === "changed" && c.fields.includes("type")) out.push({ schema: b.schema, table: b.table, column: b.name, what: "type change" });
    }
  }
  return out;
}

/** "public.patients.cns (identifier), 1,000 rows, 16 kB" for logs and the CLI. */
export function describeDestroyed(d: DestroyedData): string {
  const what = d.rowsRemoved
    ? `${d.predicate ? "rows of" : "every row of"} ${d.schema}.${d.table}${d.predicate ? ` where ${d.predicate}` : ""}`
    : `${d.schema}.${d.table}.${d.columns.join(", ")}`;
  const size = [d.estimatedRows === null ? "rows unknown" : `~${d.estimatedRows.toLocaleString("en")} rows`, d.estimatedBytes === null ? null : formatBytes(d.estimatedBytes)].filter(Boolean).join(", ");
  return `${what} (${size}${d.tagged ? `; tagged: ${d.classes.join(", ")}` : ""})`;
}
