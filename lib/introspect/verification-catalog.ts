/**
 * The catalog facts the checks evaluate, read in one query per section whatever the number of tables,
 * all in one read-only REPEATABLE READ transaction (so the sections agree) and pipelined on its
 * connection. Each section returns one row of JSON: PostgreSQL builds it set-based, Node parses it natively.
 *
 * What grows with the catalog (every table of public/lgpd/audit for RLS and policies, every invalid index)
 * is read as compactly as possible; what only concerns the declared tables (columns, constraints, index
 * details, triggers) is looked up by name.
 *
 * Policies are read grouped: policies with the same command, roles, tenant key and the same stored
 * expression trees (compared by a 64-bit hash of the node tree) are one group, printed once with
 * pg_get_expr and evaluated once. Printing every policy would cost ~15 µs each on the server; reading the
 * trees to hash them costs ~2 µs. A group only holds policies whose tenant key is the same column
 * (same name, same attnum), so printing one member prints them all.
 */
import type postgres from "postgres";
import type { VerifyExpectations } from "../verify/expectations";
import { codeOf, CONSTRAINT_TYPES, inCatalogSnapshot, POLICY_COMMANDS, textArray, TRIGGER_STATES, type ConstraintType, type PolicyCommand, type TriggerState } from "./read";

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

export interface RoleFact {
  oid: number;
  name: string;
  superuser: boolean;
  bypassRls: boolean;
  canLogin: boolean;
  /** app: the application role; member: a role that uses it; reachable: a role one of those can use. */
  kind: "app" | "member" | "reachable";
  /** How it relates: "member of app_user", "usable by svc_login"; null for the application role. */
  via: string | null;
}

export interface RolesFacts {
  appRoleExists: boolean;
  roles: RoleFact[];
  /** UPDATE / DELETE / TRUNCATE an application role (not a superuser) holds on an append-only table. */
  appendOnlyPrivileges: { role: string; table: string; privilege: string }[];
}

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

/** db/schema's tables as a json parameter (postgres.js serialises it). */
function declaredJson(tx: Tx, expect: VerifyExpectations) {
  return tx.json(expect.tables.map((t) => ({ schema: t.schema, name: t.name, tenant_key: t.tenantKey })));
}

async function readServer(tx: Tx, expect: VerifyExpectations): Promise<ServerFacts> {
  const [row] = await tx<
    { version_num: number; version: string; current_user: string; bypass: boolean; schemas: string[]; extensions: ServerFacts["extensions"] }[]
  >`
    select current_setting('server_version_num')::int as version_num, current_setting('server_version') as version,
      current_user::text as current_user,
      coalesce((select r.rolsuper or r.rolbypassrls from pg_roles r where r.rolname = current_user), false) as bypass,
      (select coalesce(json_agg(n.nspname::text order by n.nspname), '[]') from pg_namespace n
        where n.nspname = any(${textArray(expect.schemas)}::text[])) as schemas,
      (select coalesce(json_agg(json_build_object('name', e.extname, 'version', e.extversion) order by e.extname), '[]')
        from pg_extension e) as extensions`;
  return {
    versionNum: row!.version_num,
    version: row!.version,
    currentUser: row!.current_user,
    currentUserBypassesRls: row!.bypass,
    schemas: row!.schemas,
    extensions: row!.extensions,
  };
}

/** Every table of the scanned schemas (extension members aside), with the column that carries its tenant. */
function scannedTables(tx: Tx, expect: VerifyExpectations) {
  return tx`
    scanned as (
      select c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relowner,
        d.name is not null as declared,
        case when d.name is null then ${expect.tenantColumn}::text else d.tenant_key end as tenant_key
      from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        left join jsonb_to_recordset(${declaredJson(tx, expect)}) as d(schema text, name text, tenant_key text)
          on d.schema = n.nspname and d.name = c.relname
      where n.nspname = any(${textArray(expect.schemas)}::text[]) and c.relkind in ('r', 'p')
        and c.oid not in (select e.objid from pg_depend e
          where e.refclassid = 'pg_extension'::regclass and e.classid = 'pg_class'::regclass and e.deptype = 'e')
    ),
    t as materialized (
      select s.*, (select a.attnum from pg_attribute a
        where a.attrelid = s.oid and a.attname = s.tenant_key and not a.attisdropped) as tenant_attnum
      from scanned s
    )`;
}

async function readTables(tx: Tx, expect: VerifyExpectations): Promise<TableFact[]> {
  const [row] = await tx<{ tables: unknown[][] }[]>`
    with ${scannedTables(tx, expect)}
    select coalesce(json_agg(json_build_array(t.oid, t.nspname || '.' || t.relname, t.relkind, t.relrowsecurity,
      t.relforcerowsecurity, t.relowner, pg_get_userbyid(t.relowner),
      case when t.tenant_attnum is not null or t.declared then t.tenant_key end, t.declared)), '[]') as tables
    from t`;
  return row!.tables.map((r) => ({
    oid: Number(r[0]),
    name: r[1] as string,
    kind: r[2] === "p" ? "partitioned_table" : "table",
    rlsEnabled: r[3] as boolean,
    rlsForced: r[4] as boolean,
    ownerOid: Number(r[5]),
    owner: r[6] as string,
    tenantKey: (r[7] as string | null) ?? null,
    declared: r[8] as boolean,
  }));
}

async function readPolicies(tx: Tx, expect: VerifyExpectations): Promise<PolicyGroupFact[]> {
  const [row] = await tx<{ groups: unknown[][] }[]>`
    with ${scannedTables(tx, expect)},
    p as (
      select p.oid, p.polrelid, p.polname, p.polcmd, p.polpermissive, p.polroles, t.tenant_key, t.tenant_attnum,
        hashtextextended(p.polqual::text, 0) as qual_hash, hashtextextended(p.polwithcheck::text, 0) as check_hash
      from pg_policy p join t on t.oid = p.polrelid
    ),
    g as (
      select qual_hash, check_hash, polcmd, polpermissive, polroles, tenant_key, tenant_attnum, min(oid) as rep,
        to_json(array_agg(polrelid)) as member_tables, to_json(array_agg(polname)) as member_policies
      from p group by qual_hash, check_hash, polcmd, polpermissive, polroles, tenant_key, tenant_attnum
    )
    select coalesce(json_agg(json_build_array(g.polcmd, g.polpermissive,
      (select json_agg(case when x = 0 then 'public' else pg_get_userbyid(x)::text end) from unnest(g.polroles) x),
      case when g.tenant_attnum is not null then g.tenant_key end,
      pg_get_expr(r.polqual, r.polrelid), pg_get_expr(r.polwithcheck, r.polrelid), g.member_tables, g.member_policies)), '[]') as groups
    from g join pg_policy r on r.oid = g.rep`;
  return row!.groups.map((r) => ({
    command: codeOf(POLICY_COMMANDS, r[0] as string, "ALL"),
    permissive: r[1] as boolean,
    roles: (r[2] as string[]) ?? [],
    tenantKey: (r[3] as string | null) ?? null,
    using: (r[4] as string | null) ?? null,
    withCheck: (r[5] as string | null) ?? null,
    members: (r[6] as number[]).map((tableOid, i) => ({ tableOid: Number(tableOid), policy: (r[7] as string[])[i]! })),
  }));
}

async function readColumns(tx: Tx, expect: VerifyExpectations): Promise<ColumnFact[]> {
  const [row] = await tx<{ columns: [string, string, string, boolean, boolean][] }[]>`
    select coalesce(json_agg(json_build_array(d.schema || '.' || d.name, a.attname, format_type(a.atttypid, a.atttypmod),
      a.attnotnull, a.atthasdef)), '[]') as columns
    from jsonb_to_recordset(${declaredJson(tx, expect)}) as d(schema text, name text)
      join pg_namespace n on n.nspname = d.schema
      join pg_class c on c.relnamespace = n.oid and c.relname = d.name
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped`;
  return row!.columns.map(([table, name, type, notNull, hasDefault]) => ({ table, name, type, notNull, hasDefault }));
}

async function readConstraints(tx: Tx, expect: VerifyExpectations): Promise<ConstraintFact[]> {
  const [row] = await tx<{ constraints: unknown[][] }[]>`
    select coalesce(json_agg(json_build_array(d.schema || '.' || d.name, k.conname, k.contype, k.convalidated,
      (select coalesce(json_agg(a.attname order by u.ord), '[]') from unnest(k.conkey) with ordinality u(attnum, ord)
        join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum),
      (select fn.nspname || '.' || fc.relname from pg_class fc join pg_namespace fn on fn.oid = fc.relnamespace
        where fc.oid = k.confrelid),
      (select coalesce(json_agg(a.attname order by u.ord), '[]') from unnest(k.confkey) with ordinality u(attnum, ord)
        join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum),
      case when k.contype in ('p', 'u', 'x') then
        (select i.indisvalid and i.indisready from pg_index i where i.indexrelid = k.conindid) end)), '[]') as constraints
    from jsonb_to_recordset(${declaredJson(tx, expect)}) as d(schema text, name text)
      join pg_namespace n on n.nspname = d.schema
      join pg_class c on c.relnamespace = n.oid and c.relname = d.name
      join pg_constraint k on k.conrelid = c.oid
    where k.contype <> 'n'`;
  return row!.constraints.map((r) => ({
    table: r[0] as string,
    name: r[1] as string,
    type: codeOf(CONSTRAINT_TYPES, r[2] as string, "other"),
    validated: r[3] as boolean,
    columns: (r[4] as string[]) ?? [],
    foreignTable: (r[5] as string | null) ?? null,
    foreignColumns: (r[6] as string[]) ?? [],
    indexUsable: (r[7] as boolean | null) ?? null,
  }));
}

async function readIndexes(tx: Tx, expect: VerifyExpectations): Promise<IndexFact[]> {
  const [row] = await tx<{ indexes: unknown[][] }[]>`
    with declared as (
      select c.oid from jsonb_to_recordset(${declaredJson(tx, expect)}) as d(schema text, name text)
        join pg_namespace n on n.nspname = d.schema
        join pg_class c on c.relnamespace = n.oid and c.relname = d.name
    ),
    picked as (
      select i.indexrelid, true as on_declared from pg_index i where i.indrelid in (select oid from declared)
      union all
      select i.indexrelid, false from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
      where not (i.indisvalid and i.indisready) and n.nspname = any(${textArray(expect.schemas)}::text[])
        and i.indrelid not in (select oid from declared)
    )
    select coalesce(json_agg(json_build_array(n.nspname || '.' || c.relname, ic.relname, i.indisvalid, i.indisready,
      i.indisunique, am.amname,
      (select json_agg(a.attname order by k.ord) from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
        left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum and k.attnum <> 0
        where k.ord <= i.indnkeyatts),
      i.indpred is not null, picked.on_declared)), '[]') as indexes
    from picked
      join pg_index i on i.indexrelid = picked.indexrelid
      join pg_class ic on ic.oid = i.indexrelid
      join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_am am on am.oid = ic.relam`;
  return row!.indexes.map((r) => ({
    table: r[0] as string,
    name: r[1] as string,
    valid: r[2] as boolean,
    ready: r[3] as boolean,
    unique: r[4] as boolean,
    method: r[5] as string,
    columns: (r[6] as (string | null)[]) ?? [],
    partial: r[7] as boolean,
    onDeclaredTable: r[8] as boolean,
  }));
}

async function readRoles(tx: Tx, expect: VerifyExpectations): Promise<RolesFacts> {
  // PostgreSQL 16+ memberships can grant neither INHERIT nor SET (ADMIN only, e.g. the implicit grant to a
  // CREATEROLE creator): such a member cannot act as the role. to_jsonb reads the columns where they exist.
  const [row] = await tx<{ app_exists: boolean; roles: RoleFact[]; privileges: RolesFacts["appendOnlyPrivileges"] }[]>`
    with recursive uses as (
      select m.roleid, m.member from pg_auth_members m
      where coalesce((to_jsonb(m) ->> 'inherit_option')::boolean, true) or coalesce((to_jsonb(m) ->> 'set_option')::boolean, true)
    ),
    members(oid, via) as (
      select r.oid, null::text collate "C" from pg_roles r where r.rolname = ${expect.appRole}
      union
      select u.member, 'member of ' || pg_get_userbyid(u.roleid) from uses u join members on u.roleid = members.oid
    ),
    reach(oid, via, depth) as (
      select oid, via, 0 from members
      union
      select u.roleid, 'usable by ' || pg_get_userbyid(u.member), reach.depth + 1 from uses u join reach on u.member = reach.oid
    ),
    labelled as (
      select distinct on (r.oid) r.oid, r.rolname, r.rolsuper, r.rolbypassrls, r.rolcanlogin,
        case when r.rolname = ${expect.appRole} then 'app'
          when r.oid in (select oid from members) then 'member' else 'reachable' end as kind,
        reach.via
      from reach join pg_roles r on r.oid = reach.oid
      order by r.oid, reach.depth
    )
    select exists (select 1 from pg_roles where rolname = ${expect.appRole}) as app_exists,
      (select coalesce(json_agg(json_build_object('oid', l.oid::bigint, 'name', l.rolname, 'superuser', l.rolsuper,
        'bypassRls', l.rolbypassrls, 'canLogin', l.rolcanlogin, 'kind', l.kind, 'via', l.via) order by l.rolname), '[]')
        from labelled l) as roles,
      (select coalesce(json_agg(json_build_object('role', r.rolname, 'table', t.name, 'privilege', p.privilege)
          order by r.rolname, t.name, p.privilege), '[]')
        from (select distinct oid from members) m
          join pg_roles r on r.oid = m.oid and not r.rolsuper
          cross join (select q as name, to_regclass(q) as oid
            from unnest(${textArray(expect.appendOnlyTables)}::text[]) q) t
          cross join unnest(array['UPDATE', 'DELETE', 'TRUNCATE']) p(privilege)
        where t.oid is not null and has_table_privilege(r.oid, t.oid, p.privilege)) as privileges`;
  return { appRoleExists: row!.app_exists, roles: row!.roles.map((r) => ({ ...r, oid: Number(r.oid) })), appendOnlyPrivileges: row!.privileges };
}

async function readRoutines(tx: Tx, expect: VerifyExpectations): Promise<RoutinesFacts> {
  const functions = tx.json(expect.handWritten.functions.map((f) => ({ schema: f.schema, name: f.name })));
  const triggers = tx.json(expect.handWritten.triggers.map((t) => ({ table: t.table, name: t.name })));
  const [row] = await tx<{ functions: FunctionFact[]; triggers: (Omit<TriggerFact, "enabled"> & { enabled: string })[] }[]>`
    select
      (select coalesce(json_agg(json_build_object('schema', n.nspname, 'name', p.proname,
          'identityArguments', pg_get_function_identity_arguments(p.oid),
          'appCanExecute', case when exists (select 1 from pg_roles where rolname = ${expect.appRole})
            then has_function_privilege(${expect.appRole}, p.oid, 'EXECUTE') end)), '[]')
        from jsonb_to_recordset(${functions}) as f(schema text, name text)
          join pg_namespace n on n.nspname = f.schema
          join pg_proc p on p.pronamespace = n.oid and p.proname = f.name) as functions,
      (select coalesce(json_agg(json_build_object('table', t.table, 'name', g.tgname, 'enabled', g.tgenabled,
          'function', fn.nspname || '.' || fp.proname, 'definition', pg_get_triggerdef(g.oid))), '[]')
        from jsonb_to_recordset(${triggers}) as t("table" text, name text)
          join pg_namespace n on n.nspname = split_part(t.table, '.', 1)
          join pg_class c on c.relnamespace = n.oid and c.relname = split_part(t.table, '.', 2)
          join pg_trigger g on g.tgrelid = c.oid and g.tgname = t.name
          join pg_proc fp on fp.oid = g.tgfoid
          join pg_namespace fn on fn.oid = fp.pronamespace) as triggers`;
  return {
    functions: row!.functions,
    triggers: row!.triggers.map((t) => ({ ...t, enabled: codeOf(TRIGGER_STATES, t.enabled, "origin") })),
  };
}

type Reader<S extends Exclude<CatalogSection, "server">> = (tx: Tx, e: VerifyExpectations) => Promise<NonNullable<VerificationCatalog[S]>>;

const READERS: { [S in Exclude<CatalogSection, "server">]: Reader<S> } = {
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
      sections.map(async (section) => [section, section === "server" ? await readServer(tx, expect) : await READERS[section](tx, expect)] as const),
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
