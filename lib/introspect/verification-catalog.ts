/**
 * The catalog facts the checks evaluate, derived from the catalog reader's rows (queries.ts, the same
 * queries the schema snapshot is made of), plus what only verification asks: the server, the roles that
 * act as the application role, and which routines it may execute. One statement per section whatever the
 * number of tables, in read-only REPEATABLE READ transactions (so the sections agree), pipelined.
 *
 * What grows with the catalog (every table of the scanned schemas for RLS and policies, every invalid
 * index) is read in full; what only concerns db/schema's tables (columns, constraints, their indexes,
 * triggers) and hand-written functions is read for those by name. Policies come grouped (see
 * policiesQuery): each distinct expression is printed, and judged, once; a group is split here by the
 * tenant key of its tables, since a predicate is judged against it.
 */
import type postgres from "postgres";
import type { VerifyExpectations } from "../verify/expectations";
import * as q from "./queries";
import { readKinds } from "./queries";
import { codeOf, CONSTRAINT_TYPES, inCatalogSnapshot, POLICY_COMMANDS, TRIGGER_STATES, type ConstraintType, type PolicyCommand, type TriggerState } from "./read";

export type { PolicyCommand };

export type CatalogSection = "server" | "tables" | "policies" | "columns" | "constraints" | "indexes" | "roles" | "routines";

export const CATALOG_SECTIONS: readonly CatalogSection[] = ["server", "tables", "policies", "columns", "constraints", "indexes", "roles", "routines"];

export interface ServerFacts {
  versionNum: number;
  version: string;
  currentUser: string;
  /** The connecting role sees every row (superuser or BYPASSRLS): needed for the data checks. */
  currentUserBypassesRls: boolean;
  schemas: string[];
  extensions: { name: string; version: string }[];
}

export interface TableFact {
  oid: number;
  /** `schema.name` */
  name: string;
  kind: "table" | "partitioned_table";
  rlsEnabled: boolean;
  rlsForced: boolean;
  ownerOid: number;
  owner: string;
  /** The column that carries the tenant (clinic_id, or id on clinics) when the table has it; else null. */
  tenantKey: string | null;
  /** One of db/schema's tables. */
  declared: boolean;
}


export interface PolicyGroupFact {
  command: PolicyCommand;
  permissive: boolean;
  /** Role names; "public" for PUBLIC. */
  roles: string[];
  /** The tenant key of the member tables (null when they have none). */
  tenantKey: string | null;
  /** pg_get_expr of the group's USING / WITH CHECK; identical for every member. */
  using: string | null;
  withCheck: string | null;
  members: { tableOid: number; policy: string }[];
}

export interface ColumnFact {
  table: string;
  name: string;
  /** format_type with search_path = pg_catalog (enum types schema-qualified). */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

export interface ConstraintFact {
  table: string;
  name: string;
  type: ConstraintType;
  validated: boolean;
  columns: string[];
  foreignTable: string | null;
  foreignColumns: string[];
  /** Unique, primary key and exclusion constraints: their index is valid and ready. */
  indexUsable: boolean | null;
}

export interface IndexFact {
  table: string;
  name: string;
  valid: boolean;
  ready: boolean;
  unique: boolean;
  method: string;
  /** Key columns in order; null for an expression. */
  columns: (string | null)[];
  partial: boolean;
  /** On one of db/schema's tables (all of their indexes are read; elsewhere only broken ones). */
  onDeclaredTable: boolean;
}

/** A role that can act as the application (see RoleRow); read once, shared with nothing else. */
export type RoleFact = q.RoleRow;
export type RolesFacts = q.RoleReachRow;

export interface FunctionFact {
  schema: string;
  name: string;
  identityArguments: string;
  /** EXECUTE for the application role; null when the role does not exist. */
  appCanExecute: boolean | null;
}

export interface TriggerFact {
  table: string;
  name: string;
  enabled: TriggerState;
  function: string;
  definition: string;
}

export interface RoutinesFacts {
  functions: FunctionFact[];
  triggers: TriggerFact[];
}

export interface VerificationCatalog {
  server: ServerFacts;
  tables?: TableFact[];
  policies?: PolicyGroupFact[];
  columns?: ColumnFact[];
  constraints?: ConstraintFact[];
  indexes?: IndexFact[];
  roles?: RolesFacts;
  routines?: RoutinesFacts;
}

type Tx = postgres.TransactionSql;

/** db/schema's tables, and the names to probe for the tenant key (each table's own, and clinic_id). */
function declared(expect: VerifyExpectations) {
  const tables = new Map(expect.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const probe = [...new Set([expect.tenantColumn, ...expect.tables.flatMap((t) => (t.tenantKey ? [t.tenantKey] : []))])];
  return { tables, names: expect.tables.map((t) => ({ schema: t.schema, name: t.name })), probe };
}

/** The column that carries a table's tenant (db/schema's, else clinic_id), and whether the table has it. */
function tenantOf(expect: VerifyExpectations, tables: ReturnType<typeof declared>["tables"], table: string, probed: string[] | null | undefined) {
  const d = tables.get(table);
  const key = d ? d.tenantKey : expect.tenantColumn;
  return { declared: d !== undefined, key, present: key !== null && (probed ?? []).includes(key) };
}

const sortedBy = <T>(items: T[], key: (item: T) => string) => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

async function readServer(tx: Tx, expect: VerifyExpectations): Promise<ServerFacts> {
  const rows = (await readKinds(tx, { server: q.serverQuery(tx), schemas: q.schemasQuery(tx, expect.schemas), extensions: q.extensionsQuery(tx) })) as {
    server: q.ServerRow;
    schemas: q.SchemaRow[];
    extensions: q.ExtensionRow[];
  };
  return {
    ...rows.server,
    schemas: sortedBy(rows.schemas, (s) => s.name).map((s) => s.name),
    extensions: sortedBy(rows.extensions, (e) => e.name).map((e) => ({ name: e.name, version: e.version })),
  };
}

async function readTables(tx: Tx, expect: VerifyExpectations): Promise<TableFact[]> {
  const d = declared(expect);
  const { tables } = await readKinds(tx, { tables: q.tablesQuery(tx, { schemas: expect.schemas }, d.probe) });
  return q.tableRows(tables).map((r) => {
    const name = `${r.schema}.${r.name}`;
    const tenant = tenantOf(expect, d.tables, name, r.probed);
    return {
      oid: Number(r.oid),
      name,
      kind: r.relkind === "p" ? "partitioned_table" : "table",
      rlsEnabled: r.rlsEnabled,
      rlsForced: r.rlsForced,
      ownerOid: Number(r.ownerOid),
      owner: r.owner,
      tenantKey: tenant.present || tenant.declared ? tenant.key : null,
      declared: tenant.declared,
    };
  });
}

/** The reader's policy groups, split by the tenant key of their tables (a predicate is judged against it). */
async function readPolicies(tx: Tx, expect: VerifyExpectations): Promise<PolicyGroupFact[]> {
  const d = declared(expect);
  const { policies } = await readKinds(tx, { policies: q.policiesQuery(tx, { schemas: expect.schemas }, d.probe) });
  const keyOf = new Map<number, string | null>();
  return q.policyGroupRows(policies).flatMap((g) => {
    const byKey = new Map<string | null, PolicyGroupFact["members"]>();
    for (const m of g.members) {
      let key = keyOf.get(m.tableOid);
      if (key === undefined) {
        const tenant = tenantOf(expect, d.tables, `${m.schema}.${m.table}`, m.probed);
        keyOf.set(m.tableOid, (key = tenant.present ? tenant.key : null));
      }
      const members = byKey.get(key) ?? byKey.set(key, []).get(key)!;
      members.push({ tableOid: m.tableOid, policy: m.policy });
    }
    return [...byKey].map(([tenantKey, members]) => ({
      command: codeOf(POLICY_COMMANDS, g.polcmd, "ALL"),
      permissive: g.permissive,
      roles: g.roles ?? [],
      tenantKey,
      using: g.using,
      withCheck: g.withCheck,
      members,
    }));
  });
}

async function readColumns(tx: Tx, expect: VerifyExpectations): Promise<ColumnFact[]> {
  const { columns } = (await readKinds(tx, { columns: q.columnsQuery(tx, { tables: declared(expect).names }) })) as { columns: q.ColumnRow[] };
  return columns.map((c) => ({ table: `${c.schema}.${c.table}`, name: c.name, type: c.type, notNull: c.notNull, hasDefault: c.default !== null }));
}

async function readConstraints(tx: Tx, expect: VerifyExpectations): Promise<ConstraintFact[]> {
  const { constraints } = (await readKinds(tx, { constraints: q.constraintsQuery(tx, { tables: declared(expect).names }) })) as {
    constraints: q.ConstraintRow[];
  };
  return constraints.map((k) => ({
    table: `${k.schema}.${k.table}`,
    name: k.name,
    type: codeOf(CONSTRAINT_TYPES, k.contype, "other"),
    validated: k.validated,
    columns: k.columns ?? [],
    foreignTable: k.foreignTable ?? null,
    foreignColumns: k.foreignColumns ?? [],
    indexUsable: k.indexUsable ?? null,
  }));
}

/** Every index of db/schema's tables, and the broken ones anywhere in the scanned schemas. */
async function readIndexes(tx: Tx, expect: VerifyExpectations): Promise<IndexFact[]> {
  const d = declared(expect);
  const { indexes } = (await readKinds(tx, { indexes: q.indexesQuery(tx, { tables: d.names }, expect.schemas) })) as { indexes: q.IndexRow[] };
  return indexes.map((i) => {
    const table = `${i.schema}.${i.table}`;
    return {
      table,
      name: i.name,
      valid: i.valid,
      ready: i.ready,
      unique: i.unique,
      method: i.method,
      columns: i.columns ?? [],
      partial: i.partial,
      onDeclaredTable: d.tables.has(table),
    };
  });
}

async function readRoles(tx: Tx, expect: VerifyExpectations): Promise<RolesFacts> {
  const { roles } = (await readKinds(tx, { roles: q.roleReachQuery(tx, expect.appRole, expect.appendOnlyTables) })) as { roles: q.RoleReachRow };
  return { appRoleExists: roles.appRoleExists, roles: roles.roles.map((r) => ({ ...r, oid: Number(r.oid) })), appendOnlyPrivileges: roles.appendOnlyPrivileges };
}

async function readRoutines(tx: Tx, expect: VerifyExpectations): Promise<RoutinesFacts> {
  const wanted = expect.handWritten.triggers;
  const triggerTables = [...new Set(wanted.map((t) => t.table))].map((t) => ({ schema: t.split(".")[0]!, name: t.split(".").slice(1).join(".") }));
  const rows = (await readKinds(tx, {
    functions: q.functionsQuery(tx, { functions: expect.handWritten.functions }, expect.appRole),
    triggers: q.triggersQuery(tx, { tables: triggerTables }),
  })) as { functions: q.FunctionRow[]; triggers: q.TriggerRow[] };
  return {
    functions: rows.functions.map((f) => ({ schema: f.schema, name: f.name, identityArguments: f.identityArguments, appCanExecute: f.executable })),
    triggers: rows.triggers
      .map((t) => ({ table: `${t.schema}.${t.table}`, name: t.name, enabled: codeOf(TRIGGER_STATES, t.tgenabled, "origin"), function: t.function, definition: t.definition }))
      .filter((t) => wanted.some((w) => w.table === t.table && w.name === t.name)),
  };
}

type Reader<S extends CatalogSection> = (tx: Tx, e: VerifyExpectations) => Promise<NonNullable<VerificationCatalog[S]>>;

const READERS: { [S in CatalogSection]: Reader<S> } = {
  server: readServer,
  tables: readTables,
  policies: readPolicies,
  columns: readColumns,
  constraints: readConstraints,
  indexes: readIndexes,
  roles: readRoles,
  routines: readRoutines,
};

/**
 * The sections are read in two read-only REPEATABLE READ transactions on two connections, in parallel:
 * the policies (the heaviest section on a big catalog) with the server facts and routines, the rest on
 * the other. Each transaction pipelines its queries. The two snapshots may differ by a DDL committed
 * between them; a verification run during a migration is re-run after it anyway.
 */
const LANES: readonly (readonly CatalogSection[])[] = [
  ["server", "policies", "routines"],
  ["tables", "columns", "constraints", "indexes", "roles"],
];

async function readLane(sql: postgres.Sql, expect: VerifyExpectations, sections: readonly CatalogSection[]): Promise<Partial<VerificationCatalog>> {
  // The print settings go out first, so the queries pipelined after them see schema-qualified type names
  // in format_type and a stable pg_get_expr output.
  return inCatalogSnapshot(sql, async (tx) => {
    const read = await Promise.all(
      sections.map(async (section) => [section, await READERS[section](tx, expect)] as const),
    );
    return Object.fromEntries(read) as Partial<VerificationCatalog>;
  });
}

/**
 * Reads the server facts and the requested sections: one query per section, plus BEGIN, a SET of
 * search_path and COMMIT per transaction (at most two), whatever the number of tables.
 */
export async function readVerificationCatalog(
  sql: postgres.Sql,
  expect: VerifyExpectations,
  sections: readonly CatalogSection[],
): Promise<VerificationCatalog> {
  const wanted = new Set<CatalogSection>(["server", ...sections]);
  const lanes = LANES.map((lane) => lane.filter((s) => wanted.has(s))).filter((lane) => lane.length > 0);
  const parts = await Promise.all(lanes.map((lane) => readLane(sql, expect, lane)));
  return Object.assign({}, ...parts) as VerificationCatalog;
}
