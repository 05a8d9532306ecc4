/**
 * A deterministic, JSON-serialisable picture of a live database's catalog, for diffing two states of a
 * target (before/after a migration, staging/production) and fingerprinting one.
 *
 * Cost does not grow with the schema: one query per section (never one per table), all inside one
 * read-only REPEATABLE READ transaction so the sections agree with each other.
 *
 * Deliberate omissions, so that equal schemas give equal snapshots:
 * - no OIDs, no raw attnum (a column's position is its rank among live columns);
 * - objects that belong to an extension are represented by the extension row only;
 * - NOT NULL constraints (PostgreSQL 18 catalogs them in pg_constraint) are the columns' `notNull` flag;
 * - privileges are the effective ACL (the default ACL when none was granted), so GRANT then REVOKE leaves
 *   no trace;
 * - roles are cluster-wide, not part of a database: only their names appear (owners, grantees, policies).
 */
import { createHash } from "node:crypto";
import type postgres from "postgres";
import { canonicalJson } from "../canonical-json";
import {
  codeOf,
  CONSTRAINT_TYPES,
  currentPrintSettings,
  notExtensionMember,
  setPrintSettings,
  TRIGGER_STATES,
  type ConstraintType,
  type TriggerState,
} from "./read";

export { canonicalJson, CONSTRAINT_TYPES };

export const DEFAULT_SNAPSHOT_SCHEMAS = ["public", "lgpd", "audit"] as const;

export interface SchemaEntry {
  name: string;
  owner: string;
}

export interface ExtensionEntry {
  name: string;
  version: string;
  schema: string;
}

export interface TypeEntry {
  schema: string;
  name: string;
  kind: "enum" | "domain" | "range" | "composite" | "other";
  /** Enum labels in their sort order (the order is part of the type). */
  labels: string[] | null;
  /** Domains: base type, e.g. `text`. */
  baseType: string | null;
}

export interface TableEntry {
  schema: string;
  name: string;
  kind: "table" | "partitioned_table";
  owner: string;
  rlsEnabled: boolean;
  rlsForced: boolean;
}

export interface ColumnEntry {
  schema: string;
  table: string;
  name: string;
  /** 1-based rank among the table's live columns. */
  position: number;
  type: string;
  notNull: boolean;
  default: string | null;
  identity: "always" | "by_default" | null;
  generated: "stored" | "virtual" | null;
  /** Only when it differs from the type's default collation. */
  collation: string | null;
}

export interface ConstraintEntry {
  schema: string;
  table: string;
  name: string;
  type: ConstraintType;
  definition: string;
  validated: boolean;
}

export interface IndexEntry {
  schema: string;
  table: string;
  name: string;
  definition: string;
  unique: boolean;
  primary: boolean;
  /** The constraint this index implements (primary key, unique, exclusion), if any. */
  constraint: string | null;
  /** False after a failed CREATE INDEX CONCURRENTLY: the index is maintained but never used. */
  valid: boolean;
  ready: boolean;
}

export interface PolicyEntry {
  schema: string;
  table: string;
  name: string;
  permissive: boolean;
  command: "ALL" | "SELECT" | "INSERT" | "UPDATE" | "DELETE";
  roles: string[];
  using: string | null;
  withCheck: string | null;
}

export interface FunctionEntry {
  schema: string;
  name: string;
  identityArguments: string;
  kind: "function" | "procedure" | "aggregate" | "window";
  returns: string | null;
  language: string;
  securityDefiner: boolean;
  volatility: "immutable" | "stable" | "volatile";
  /** `SET` clauses such as `search_path=pg_catalog, public`. */
  config: string[];
  /** pg_get_functiondef; null for aggregates, which it cannot print. */
  definition: string | null;
  /** sha256 hex of `definition` (or of the identity when there is none), for cheap comparison. */
  hash: string;
}

export interface TriggerEntry {
  schema: string;
  table: string;
  name: string;
  enabled: TriggerState;
  definition: string;
}

export interface ViewEntry {
  schema: string;
  name: string;
  materialized: boolean;
  definition: string;
}

export interface SequenceEntry {
  schema: string;
  name: string;
  dataType: string;
  /** `table.column` for sequences owned by a column (serial, identity). */
  ownedBy: string | null;
}

export interface PrivilegeEntry {
  objectType: "schema" | "table" | "view" | "sequence" | "function";
  schema: string;
  /** Relation name, or `name(identity arguments)` for functions. */
  name: string;
  /** A role name, or PUBLIC. */
  grantee: string;
  privilege: string;
  grantable: boolean;
}

export interface SchemaSnapshot {
  schemas: SchemaEntry[];
  extensions: ExtensionEntry[];
  types: TypeEntry[];
  tables: TableEntry[];
  columns: ColumnEntry[];
  constraints: ConstraintEntry[];
  indexes: IndexEntry[];
  policies: PolicyEntry[];
  functions: FunctionEntry[];
  triggers: TriggerEntry[];
  views: ViewEntry[];
  sequences: SequenceEntry[];
  privileges: PrivilegeEntry[];
}

export type SnapshotSection = keyof SchemaSnapshot;

/**
 * The fields that identify an entry within its section: two snapshots' entries with the same key are the
 * same object (compare the other fields to find what changed). Entries are sorted by this key.
 */
export const SNAPSHOT_KEYS: { [S in SnapshotSection]: readonly (keyof SchemaSnapshot[S][number])[] } = {
  schemas: ["name"],
  extensions: ["name"],
  types: ["schema", "name"],
  tables: ["schema", "name"],
  columns: ["schema", "table", "name"],
  constraints: ["schema", "table", "name"],
  indexes: ["schema", "table", "name"],
  policies: ["schema", "table", "name"],
  functions: ["schema", "name", "identityArguments"],
  triggers: ["schema", "table", "name"],
  views: ["schema", "name"],
  sequences: ["schema", "name"],
  privileges: ["objectType", "schema", "name", "grantee", "privilege"],
};

/** The key of one entry as a string, e.g. `public/patients/patients_cpf_unique`. */
export function snapshotEntryKey<S extends SnapshotSection>(section: S, entry: SchemaSnapshot[S][number]): string {
  return SNAPSHOT_KEYS[section].map((field) => String(entry[field])).join("/");
}

type Client = postgres.Sql | postgres.TransactionSql;

/**
 * Reads the catalog of the database `sql` is connected to, limited to `schemas` (extensions are listed
 * whatever their schema). Runs in its own read-only transaction, or inside the caller's when given one.
 */
export async function snapshotSchema(
  sql: Client,
  schemas: readonly string[] = DEFAULT_SNAPSHOT_SCHEMAS,
): Promise<SchemaSnapshot> {
  if ("savepoint" in sql) return readCatalog(sql, [...schemas], true);
  return sql.begin("isolation level repeatable read read only", (tx) => readCatalog(tx, [...schemas], false));
}

/** sha256 hex of the snapshot's canonical JSON (keys sorted, no whitespace). */
export function schemaFingerprint(snapshot: SchemaSnapshot): string {
  return createHash("sha256").update(canonicalJson(snapshot)).digest("hex");
}


/** `restore`: put the caller's settings back afterwards (when running inside the caller's transaction). */
async function readCatalog(tx: postgres.TransactionSql, schemas: string[], restore: boolean): Promise<SchemaSnapshot> {
  // Queries go out in the order they are created, so the settings apply to every section read after them.
  const previous = restore ? currentPrintSettings(tx) : null;
  const settings = setPrintSettings(tx);
  const [snapshot, before] = await Promise.all([readSections(tx, schemas), previous, settings]);
  if (before) await setPrintSettings(tx, before[0]!);
  return snapshot;
}

async function readSections(tx: postgres.TransactionSql, schemas: string[]): Promise<SchemaSnapshot> {
  const inSchemas = tx.array(schemas);
  const relNotExt = tx.unsafe(notExtensionMember("pg_class", "c.oid"));
  const procNotExt = tx.unsafe(notExtensionMember("pg_proc", "p.oid"));
  const typeNotExt = tx.unsafe(notExtensionMember("pg_type", "t.oid"));

  // Sent together: postgres.js pipelines them on the transaction's connection (one round trip, not 13).
  const [
    schemaRows,
    extensionRows,
    typeRows,
    tableRows,
    columnRows,
    constraintRows,
    indexRows,
    policyRows,
    functionRows,
    triggerRows,
    viewRows,
    sequenceRows,
    privilegeRows,
  ] = await Promise.all([
    tx<SchemaEntry[]>`
    select n.nspname as name, pg_get_userbyid(n.nspowner) as owner
    from pg_namespace n where n.nspname = any(${inSchemas}::text[])`,
    tx<ExtensionEntry[]>`
    select e.extname as name, e.extversion as version, n.nspname as schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace`,
    tx<(Omit<TypeEntry, "kind"> & { typtype: string })[]>`
    select n.nspname as schema, t.typname as name, t.typtype,
      case when t.typtype = 'e' then
        (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)
      end as labels,
      case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end as "baseType"
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = any(${inSchemas}::text[])
      and t.typtype in ('e', 'd', 'r', 'c', 'm')
      and (t.typtype <> 'c' or (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c')
      and ${typeNotExt}`,
    tx<(Omit<TableEntry, "kind"> & { relkind: string })[]>`
    select n.nspname as schema, c.relname as name, c.relkind, pg_get_userbyid(c.relowner) as owner,
      c.relrowsecurity as "rlsEnabled", c.relforcerowsecurity as "rlsForced"
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${inSchemas}::text[]) and c.relkind in ('r', 'p') and ${relNotExt}`,
    tx<(Omit<ColumnEntry, "identity" | "generated"> & { attidentity: string; attgenerated: string })[]>`
    select n.nspname as schema, c.relname as table, a.attname as name,
      row_number() over (partition by a.attrelid order by a.attnum)::int as position,
      format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as "notNull",
      pg_get_expr(ad.adbin, ad.adrelid) as default, a.attidentity::text as attidentity,
      a.attgenerated::text as attgenerated,
      case when a.attcollation <> 0 and a.attcollation <> t.typcollation
        then (select co.collname from pg_collation co where co.oid = a.attcollation) end as collation
    from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_type t on t.oid = a.atttypid
      left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
    where n.nspname = any(${inSchemas}::text[]) and c.relkind in ('r', 'p') and ${relNotExt}
      and a.attnum > 0 and not a.attisdropped`,
    tx<(Omit<ConstraintEntry, "type"> & { contype: string })[]>`
    select n.nspname as schema, c.relname as table, k.conname as name, k.contype::text as contype,
      pg_get_constraintdef(k.oid) as definition, k.convalidated as validated
    from pg_constraint k
      join pg_class c on c.oid = k.conrelid
      join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${inSchemas}::text[]) and k.contype <> 'n' and ${relNotExt}`,
    tx<IndexEntry[]>`
    select n.nspname as schema, c.relname as table, ic.relname as name,
      pg_get_indexdef(i.indexrelid) as definition, i.indisunique as unique, i.indisprimary as primary,
      (select k.conname from pg_constraint k
        where k.conrelid = i.indrelid and k.conindid = i.indexrelid and k.contype in ('p', 'u', 'x')) as constraint,
      i.indisvalid as valid, i.indisready as ready
    from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${inSchemas}::text[]) and ${relNotExt}`,
    tx<(Omit<PolicyEntry, "permissive"> & { permissive: string })[]>`
    select p.schemaname as schema, p.tablename as table, p.policyname as name, p.permissive,
      p.cmd as command, p.roles::text[] as roles, p.qual as using, p.with_check as "withCheck"
    from pg_policies p where p.schemaname = any(${inSchemas}::text[])`,
    tx<(Omit<FunctionEntry, "kind" | "volatility" | "hash"> & { prokind: string; provolatile: string })[]>`
    select n.nspname as schema, p.proname as name,
      pg_get_function_identity_arguments(p.oid) as "identityArguments", p.prokind::text as prokind,
      pg_get_function_result(p.oid) as returns, l.lanname as language, p.prosecdef as "securityDefiner",
      p.provolatile::text as provolatile, coalesce(p.proconfig, '{}')::text[] as config,
      case when p.prokind in ('f', 'p') then pg_get_functiondef(p.oid) end as definition
    from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      join pg_language l on l.oid = p.prolang
    where n.nspname = any(${inSchemas}::text[]) and ${procNotExt}`,
    tx<(Omit<TriggerEntry, "enabled"> & { tgenabled: string })[]>`
    select n.nspname as schema, c.relname as table, g.tgname as name, g.tgenabled::text as tgenabled,
      pg_get_triggerdef(g.oid) as definition
    from pg_trigger g
      join pg_class c on c.oid = g.tgrelid
      join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${inSchemas}::text[]) and not g.tgisinternal and ${relNotExt}`,
    tx<ViewEntry[]>`
    select n.nspname as schema, c.relname as name, c.relkind = 'm' as materialized,
      pg_get_viewdef(c.oid) as definition
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${inSchemas}::text[]) and c.relkind in ('v', 'm') and ${relNotExt}`,
    tx<SequenceEntry[]>`
    select n.nspname as schema, c.relname as name, format_type(s.seqtypid, null) as "dataType",
      (select oc.relname || '.' || a.attname
        from pg_depend d
          join pg_class oc on oc.oid = d.refobjid
          join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass
          and d.deptype in ('a', 'i')) as "ownedBy"
    from pg_sequence s
      join pg_class c on c.oid = s.seqrelid
      join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${inSchemas}::text[]) and ${relNotExt}`,
    tx<PrivilegeEntry[]>`
    with objects as (
      select 'schema' as object_type, n.nspname as schema_name, n.nspname::text as object_name,
        coalesce(n.nspacl, acldefault('n', n.nspowner)) as acl
      from pg_namespace n where n.nspname = any(${inSchemas}::text[])
      union all
      select case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'view' else 'table' end,
        n.nspname, c.relname::text,
        coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's' else 'r' end::"char", c.relowner))
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any(${inSchemas}::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'S') and ${relNotExt}
      union all
      select 'function', n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
        coalesce(p.proacl, acldefault('f', p.proowner))
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any(${inSchemas}::text[]) and ${procNotExt}
    )
    select o.object_type as "objectType", o.schema_name as schema, o.object_name as name,
      case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end as grantee,
      a.privilege_type as privilege, a.is_grantable as grantable
    from objects o cross join lateral aclexplode(o.acl) a`,
  ]);

  const snapshot: SchemaSnapshot = {
    schemas: schemaRows.map((r) => ({ name: r.name, owner: r.owner })),
    extensions: extensionRows.map((r) => ({ name: r.name, version: r.version, schema: r.schema })),
    types: typeRows.map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: TYPE_KINDS[r.typtype] ?? "other",
      labels: r.labels,
      baseType: r.baseType,
    })),
    tables: tableRows.map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: r.relkind === "p" ? "partitioned_table" : "table",
      owner: r.owner,
      rlsEnabled: r.rlsEnabled,
      rlsForced: r.rlsForced,
    })),
    columns: columnRows.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      position: r.position,
      type: r.type,
      notNull: r.notNull,
      default: r.default,
      identity: r.attidentity === "a" ? "always" : r.attidentity === "d" ? "by_default" : null,
      generated: r.attgenerated === "s" ? "stored" : r.attgenerated === "v" ? "virtual" : null,
      collation: r.collation,
    })),
    constraints: constraintRows.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      type: codeOf(CONSTRAINT_TYPES, r.contype, "other"),
      definition: r.definition,
      validated: r.validated,
    })),
    indexes: indexRows.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      definition: r.definition,
      unique: r.unique,
      primary: r.primary,
      constraint: r.constraint,
      valid: r.valid,
      ready: r.ready,
    })),
    policies: policyRows.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      permissive: r.permissive === "PERMISSIVE",
      command: r.command,
      roles: [...r.roles].sort(compareStrings),
      using: r.using,
      withCheck: r.withCheck,
    })),
    functions: functionRows.map((r) => ({
      schema: r.schema,
      name: r.name,
      identityArguments: r.identityArguments,
      kind: FUNCTION_KINDS[r.prokind] ?? "function",
      returns: r.returns,
      language: r.language,
      securityDefiner: r.securityDefiner,
      volatility: r.provolatile === "i" ? "immutable" : r.provolatile === "s" ? "stable" : "volatile",
      config: [...r.config].sort(compareStrings),
      definition: r.definition,
      hash: sha256(r.definition ?? `${r.schema}.${r.name}(${r.identityArguments})`),
    })),
    triggers: triggerRows.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      enabled: codeOf(TRIGGER_STATES, r.tgenabled, "origin"),
      definition: r.definition,
    })),
    views: viewRows.map((r) => ({
      schema: r.schema,
      name: r.name,
      materialized: r.materialized,
      definition: r.definition,
    })),
    sequences: sequenceRows.map((r) => ({
      schema: r.schema,
      name: r.name,
      dataType: r.dataType,
      ownedBy: r.ownedBy,
    })),
    privileges: privilegeRows.map((r) => ({
      objectType: r.objectType,
      schema: r.schema,
      name: r.name,
      grantee: r.grantee,
      privilege: r.privilege,
      grantable: r.grantable,
    })),
  };
  for (const section of Object.keys(SNAPSHOT_KEYS) as SnapshotSection[]) sortSection(snapshot, section);
  return snapshot;
}

const TYPE_KINDS: Record<string, TypeEntry["kind"]> = { e: "enum", d: "domain", r: "range", m: "range", c: "composite" };
const FUNCTION_KINDS: Record<string, FunctionEntry["kind"]> = { f: "function", p: "procedure", a: "aggregate", w: "window" };

function sortSection<S extends SnapshotSection>(snapshot: SchemaSnapshot, section: S): void {
  const entries = snapshot[section] as SchemaSnapshot[S][number][];
  const keyed = entries.map((entry) => ({ key: SNAPSHOT_KEYS[section].map((f) => String(entry[f])), entry }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const c = compareStrings(a.key[i]!, b.key[i]!);
      if (c !== 0) return c;
    }
    return 0;
  });
  (snapshot[section] as SchemaSnapshot[S][number][]) = keyed.map((k) => k.entry);
}

// Code-unit order: independent of the locale and of the database's collation.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
