/**
 * A deterministic, JSON-serialisable picture of a live database's catalog, for diffing two states of a
 * target (before/after a migration, staging/production) and fingerprinting one.
 *
 * A projection of the catalog reader's rows (queries.ts, which verification reads too): one statement for
 * every section whatever the size of the schema, inside one read-only REPEATABLE READ transaction.
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
import * as q from "./queries";
import { readKinds } from "./queries";
import {
  codeOf,
  CONSTRAINT_TYPES,
  currentPrintSettings,
  POLICY_COMMANDS,
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

/** An index as the snapshot compares it: the row without what only verification reads. */
export type IndexEntry = Pick<q.IndexRow, "schema" | "table" | "name" | "definition" | "unique" | "primary" | "constraint" | "valid" | "ready">;

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
  // Queries go out in the order they are created, so the settings apply to the read after them.
  const previous = restore ? currentPrintSettings(tx) : null;
  const settings = setPrintSettings(tx);
  const [rows, before] = await Promise.all([readSnapshotRows(tx, schemas), previous, settings]);
  if (before) await setPrintSettings(tx, before[0]!);
  return projectSnapshot(rows as SnapshotRows);
}

type SnapshotKind = keyof SnapshotRows;

/** The query of each kind of object the snapshot is made of. */
const SNAPSHOT_KINDS: Record<SnapshotKind, (tx: postgres.TransactionSql, schemas: string[]) => q.Fragment> = {
  schemas: (tx, schemas) => q.schemasQuery(tx, schemas),
  extensions: (tx) => q.extensionsQuery(tx),
  types: (tx, schemas) => q.typesQuery(tx, schemas),
  tables: (tx, schemas) => q.tablesQuery(tx, { schemas }),
  columns: (tx, schemas) => q.columnsQuery(tx, { schemas }),
  constraints: (tx, schemas) => q.constraintsQuery(tx, { schemas }),
  indexes: (tx, schemas) => q.indexesQuery(tx, { schemas }),
  policies: (tx, schemas) => q.policiesQuery(tx, { schemas }),
  functions: (tx, schemas) => q.functionsQuery(tx, { schemas }),
  triggers: (tx, schemas) => q.triggersQuery(tx, { schemas }),
  views: (tx, schemas) => q.viewsQuery(tx, schemas),
  sequences: (tx, schemas) => q.sequencesQuery(tx, schemas),
  privileges: (tx, schemas) => q.privilegesQuery(tx, schemas),
};

/** Read on the second connection of a split read: about half the server's work (see snapshotQuietSchema). */
const SECOND_HALF: readonly SnapshotKind[] = ["privileges", "columns", "types", "views", "schemas", "extensions"];

/** What the snapshot is made of: the given kinds of object of `schemas` (all by default), in one statement. */
function readSnapshotRows(tx: postgres.TransactionSql, schemas: string[], kinds: readonly SnapshotKind[] = Object.keys(SNAPSHOT_KINDS) as SnapshotKind[]) {
  const queries = Object.fromEntries(kinds.map((k) => [k, SNAPSHOT_KINDS[k](tx, schemas)])) as Record<SnapshotKind, q.Fragment>;
  return readKinds(tx, queries).then((rows) => ({
    ...rows,
    ...(rows.tables !== undefined ? { tables: q.tableRows(rows.tables) } : {}),
    ...(rows.policies !== undefined ? { policies: q.policyGroupRows(rows.policies) } : {}),
  }) as Partial<SnapshotRows>);
}

/**
 * The snapshot of a database nothing else changes while it is read (a rehearsal's throw-away copy),
 * read in two halves on two connections to it at once: on two cores about a third faster than one
 * read. Each half is its own read-only transaction, so on a database others change the halves could
 * disagree: use snapshotSchema there.
 */
export async function snapshotQuietSchema(first: postgres.Sql, second: postgres.Sql, schemas: readonly string[] = DEFAULT_SNAPSHOT_SCHEMAS): Promise<SchemaSnapshot> {
  const half = (sql: postgres.Sql, kinds: readonly SnapshotKind[]) =>
    sql.begin("isolation level repeatable read read only", async (tx) => {
      const settings = setPrintSettings(tx);
      const [rows] = await Promise.all([readSnapshotRows(tx, [...schemas], kinds), settings]);
      return rows;
    });
  const firstHalf = (Object.keys(SNAPSHOT_KINDS) as SnapshotKind[]).filter((k) => !SECOND_HALF.includes(k));
  const [a, b] = await Promise.all([half(first, firstHalf), half(second, SECOND_HALF)]);
  return projectSnapshot({ ...a, ...b } as SnapshotRows);
}

interface SnapshotRows {
  schemas: q.SchemaRow[];
  extensions: q.ExtensionRow[];
  types: q.TypeRow[];
  tables: q.TableRow[];
  columns: q.ColumnRow[];
  constraints: q.ConstraintRow[];
  indexes: q.IndexRow[];
  policies: q.PolicyGroupRow[];
  functions: q.FunctionRow[];
  triggers: q.TriggerRow[];
  views: q.ViewRow[];
  sequences: q.SequenceRow[];
  privileges: q.PrivilegeRow[];
}

/** The reader's rows in the snapshot's canonical form: codes in words, no OIDs, every section sorted by its key. */
function projectSnapshot(rows: SnapshotRows): SchemaSnapshot {
  const snapshot: SchemaSnapshot = {
    schemas: rows.schemas.map((r) => ({ name: r.name, owner: r.owner })),
    extensions: rows.extensions.map((r) => ({ name: r.name, version: r.version, schema: r.schema })),
    types: rows.types.map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: TYPE_KINDS[r.typtype] ?? "other",
      labels: r.labels,
      baseType: r.baseType,
    })),
    tables: rows.tables.map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: r.relkind === "p" ? "partitioned_table" : "table",
      owner: r.owner,
      rlsEnabled: r.rlsEnabled,
      rlsForced: r.rlsForced,
    })),
    columns: rows.columns.map((r) => ({
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
    constraints: rows.constraints.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      type: codeOf(CONSTRAINT_TYPES, r.contype, "other"),
      definition: r.definition,
      validated: r.validated,
    })),
    indexes: rows.indexes.map((r) => ({
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
    policies: rows.policies.flatMap((g) =>
      g.members.map((m) => ({
        schema: m.schema,
        table: m.table,
        name: m.policy,
        permissive: g.permissive,
        command: codeOf(POLICY_COMMANDS, g.polcmd, "ALL"),
        roles: [...(g.roles ?? [])].sort(compareStrings),
        using: g.using,
        withCheck: g.withCheck,
      })),
    ),
    functions: rows.functions.map((r) => ({
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
    triggers: rows.triggers.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      enabled: codeOf(TRIGGER_STATES, r.tgenabled, "origin"),
      definition: r.definition,
    })),
    views: rows.views.map((r) => ({ schema: r.schema, name: r.name, materialized: r.materialized, definition: r.definition })),
    sequences: rows.sequences.map((r) => ({ schema: r.schema, name: r.name, dataType: r.dataType, ownedBy: r.ownedBy })),
    privileges: rows.privileges.map((r) => ({
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
