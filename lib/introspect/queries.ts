/**
 * The catalog queries: one per kind of object (tables, columns, constraints, indexes, policies, functions,
 * triggers, ...), each a scalar SQL expression that yields the kind's rows as one JSON array, so that a
 * caller can send any set of kinds in one statement (`readKinds`) and PostgreSQL builds the rows
 * set-based whatever the number of objects. The schema snapshot and the verification facts are both
 * derived from these rows.
 *
 * A read covers a scope: every object of some schemas (objects created by extensions left out), or only
 * the objects of some named tables (or functions), which is what verification looks at in detail.
 * Callers set the print settings first (read.ts), so types and expressions print schema-qualified.
 */
import type postgres from "postgres";
import { notExtensionMember, textArray } from "./read";

type Tx = postgres.TransactionSql;
/** A query not sent: nested into the statement that reads it. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

export interface QualifiedName {
  schema: string;
  name: string;
}

/** Every object of these schemas, or only those of these tables. */
export type TableScope = { schemas: readonly string[] } | { tables: readonly QualifiedName[] };

const names = (tx: Tx, list: readonly QualifiedName[]) => tx.json(list.map((t) => ({ schema: t.schema, name: t.name })));

/** pg_class rows (oid, nspname, relname, relkind and what the kinds below read of them) in `scope`. */
function relations(tx: Tx, scope: TableScope, relkinds: string): Fragment {
  const kinds = tx.unsafe(relkinds ? `and c.relkind in (${relkinds})` : "");
  const columns = tx.unsafe("c.oid, n.nspname, c.relname, c.relkind, c.relowner, c.relrowsecurity, c.relforcerowsecurity, c.relacl");
  if ("tables" in scope) {
    return tx`select ${columns} from jsonb_to_recordset(${names(tx, scope.tables)}) as d(schema text, name text)
      join pg_namespace n on n.nspname = d.schema
      join pg_class c on c.relnamespace = n.oid and c.relname = d.name ${kinds}`;
  }
  return tx`select ${columns} from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${textArray(scope.schemas)}::text[]) ${kinds} and ${tx.unsafe(notExtensionMember("pg_class", "c.oid"))}`;
}

const TABLES = "'r', 'p'";

// ---------------------------------------------------------------------------------------------------------
// Rows, as the queries return them (catalog codes still raw: the derivations put them in words).

export interface SchemaRow {
  name: string;
  owner: string;
}

export interface ExtensionRow {
  name: string;
  version: string;
  schema: string;
}

export interface TypeRow {
  schema: string;
  name: string;
  typtype: string;
  labels: string[] | null;
  baseType: string | null;
}

export interface TableRow {
  oid: number;
  schema: string;
  name: string;
  relkind: string;
  ownerOid: number;
  owner: string;
  rlsEnabled: boolean;
  rlsForced: boolean;
  /** Which of the probed column names the table has (only when the read probed some). */
  probed?: string[] | null;
}

export interface ColumnRow {
  schema: string;
  table: string;
  name: string;
  /** 1-based rank among the table's live columns. */
  position: number;
  type: string;
  notNull: boolean;
  default: string | null;
  attidentity: string;
  attgenerated: string;
  collation: string | null;
}

export interface ConstraintRow {
  schema: string;
  table: string;
  name: string;
  contype: string;
  definition: string;
  validated: boolean;
  columns: string[];
  foreignTable: string | null;
  foreignColumns: string[];
  /** Unique, primary key and exclusion constraints: their index is valid and ready. */
  indexUsable: boolean | null;
}

export interface IndexRow {
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
  method: string;
  /** Key columns in order; null for an expression. */
  columns: (string | null)[];
  partial: boolean;
}

export interface PolicyGroupRow {
  polcmd: string;
  permissive: boolean;
  /** Role names, "public" for PUBLIC. */
  roles: string[];
  /** pg_get_expr of the group's USING / WITH CHECK: the same for every member. */
  using: string | null;
  withCheck: string | null;
  members: { tableOid: number; schema: string; table: string; policy: string; probed: string[] | null }[];
}

export interface FunctionRow {
  schema: string;
  name: string;
  identityArguments: string;
  prokind: string;
  returns: string | null;
  language: string;
  securityDefiner: boolean;
  provolatile: string;
  config: string[];
  /** pg_get_functiondef; null for aggregates and window functions, which it cannot print. */
  definition: string | null;
  /** EXECUTE for the role asked about; null when that role does not exist or none was asked about. */
  executable: boolean | null;
}

export interface TriggerRow {
  schema: string;
  table: string;
  name: string;
  tgenabled: string;
  /** `schema.name` of the trigger function. */
  function: string;
  definition: string;
}

export interface ViewRow {
  schema: string;
  name: string;
  materialized: boolean;
  definition: string;
}

export interface SequenceRow {
  schema: string;
  name: string;
  dataType: string;
  ownedBy: string | null;
}

export interface PrivilegeRow {
  objectType: "schema" | "table" | "view" | "sequence" | "function";
  schema: string;
  name: string;
  grantee: string;
  privilege: string;
  grantable: boolean;
}

export interface ServerRow {
  versionNum: number;
  version: string;
  currentUser: string;
  /** The connecting role sees every row (superuser or BYPASSRLS). */
  currentUserBypassesRls: boolean;
}

export interface RoleRow {
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

export interface RoleReachRow {
  appRoleExists: boolean;
  roles: RoleRow[];
  /** UPDATE / DELETE / TRUNCATE an application role (not a superuser) holds on an append-only table. */
  appendOnlyPrivileges: { role: string; table: string; privilege: string }[];
}

// ---------------------------------------------------------------------------------------------------------
// The queries.

export function schemasQuery(tx: Tx, schemas: readonly string[]): Fragment {
  return tx`select coalesce(json_agg(json_build_object('name', n.nspname, 'owner', pg_get_userbyid(n.nspowner))), '[]')
    from pg_namespace n where n.nspname = any(${textArray(schemas)}::text[])`;
}

/** Every extension, whatever its schema. */
export function extensionsQuery(tx: Tx): Fragment {
  return tx`select coalesce(json_agg(json_build_object('name', e.extname, 'version', e.extversion, 'schema', n.nspname)), '[]')
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace`;
}

export function typesQuery(tx: Tx, schemas: readonly string[]): Fragment {
  return tx`select coalesce(json_agg(json_build_object('schema', n.nspname, 'name', t.typname, 'typtype', t.typtype::text,
      'labels', case when t.typtype = 'e' then
        (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) end,
      'baseType', case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end)), '[]')
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = any(${textArray(schemas)}::text[])
      and t.typtype in ('e', 'd', 'r', 'c', 'm')
      and (t.typtype <> 'c' or (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c')
      and ${tx.unsafe(notExtensionMember("pg_type", "t.oid"))}`;
}

/**
 * `probe`: column names to look for in every table (e.g. tenant keys); the rows say which each has.
 * Rows travel as arrays (tableRows reads them): this kind grows with the catalog.
 */
export function tablesQuery(tx: Tx, scope: TableScope, probe: readonly string[] = []): Fragment {
  const probed = probe.length
    ? tx`(select array_agg(a.attname::text) from pg_attribute a
        where a.attrelid = r.oid and a.attname = any(${textArray(probe)}::text[]) and not a.attisdropped)`
    : tx`null`;
  return tx`select coalesce(json_agg(json_build_array(r.oid::bigint, r.nspname, r.relname, r.relkind::text, r.relowner::bigint,
      pg_get_userbyid(r.relowner), r.relrowsecurity, r.relforcerowsecurity, ${probed})), '[]')
    from (${relations(tx, scope, TABLES)}) r`;
}

export function tableRows(raw: unknown): TableRow[] {
  return (raw as [number, string, string, string, number, string, boolean, boolean, string[] | null][]).map(
    ([oid, schema, name, relkind, ownerOid, owner, rlsEnabled, rlsForced, probed]) => ({ oid: Number(oid), schema, name, relkind, ownerOid: Number(ownerOid), owner, rlsEnabled, rlsForced, probed }),
  );
}

export function columnsQuery(tx: Tx, scope: TableScope): Fragment {
  return tx`select coalesce(json_agg(json_build_object('schema', x.nspname, 'table', x.relname, 'name', x.attname,
      'position', x.position, 'type', x.type, 'notNull', x.attnotnull, 'default', x.default, 'attidentity', x.attidentity,
      'attgenerated', x.attgenerated, 'collation', x.collation)), '[]')
    from (
      select r.nspname, r.relname, a.attname, row_number() over (partition by a.attrelid order by a.attnum)::int as position,
        format_type(a.atttypid, a.atttypmod) as type, a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid) as default,
        a.attidentity::text as attidentity, a.attgenerated::text as attgenerated,
        case when a.attcollation <> 0 and a.attcollation <> t.typcollation
          then (select co.collname from pg_collation co where co.oid = a.attcollation) end as collation
      from (${relations(tx, scope, TABLES)}) r
        join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
        join pg_type t on t.oid = a.atttypid
        left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
    ) x`;
}

/** NOT NULL constraints (catalogued by PostgreSQL 18) are left out: they are the columns' notNull. */
export function constraintsQuery(tx: Tx, scope: TableScope): Fragment {
  return tx`select coalesce(json_agg(json_build_object('schema', r.nspname, 'table', r.relname, 'name', k.conname,
      'contype', k.contype::text, 'definition', pg_get_constraintdef(k.oid), 'validated', k.convalidated,
      'columns', (select coalesce(json_agg(a.attname order by u.ord), '[]') from unnest(k.conkey) with ordinality u(attnum, ord)
        join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum),
      'foreignTable', (select fn.nspname || '.' || fc.relname from pg_class fc join pg_namespace fn on fn.oid = fc.relnamespace
        where fc.oid = k.confrelid),
      'foreignColumns', (select coalesce(json_agg(a.attname order by u.ord), '[]') from unnest(k.confkey) with ordinality u(attnum, ord)
        join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum),
      'indexUsable', case when k.contype in ('p', 'u', 'x') then
        (select i.indisvalid and i.indisready from pg_index i where i.indexrelid = k.conindid) end)), '[]')
    from (${relations(tx, scope, "")}) r join pg_constraint k on k.conrelid = r.oid
    where k.contype <> 'n'`;
}

/**
 * Indexes of the tables in `scope`; with `invalidIn`, also every index of those schemas that a failed
 * CREATE INDEX CONCURRENTLY left invalid or not ready, whatever its table.
 */
export function indexesQuery(tx: Tx, scope: TableScope, invalidIn?: readonly string[]): Fragment {
  const invalid = invalidIn
    ? tx`union
      select i.indexrelid, r.nspname, r.relname from (${relations(tx, { schemas: invalidIn }, "")}) r
        join pg_index i on i.indrelid = r.oid
      where not (i.indisvalid and i.indisready) and r.oid not in (select oid from scoped)`
    : tx``;
  return tx`with scoped as (${relations(tx, scope, "")}),
    picked as (
      select i.indexrelid, r.nspname, r.relname from scoped r join pg_index i on i.indrelid = r.oid
      ${invalid}
    )
    select coalesce(json_agg(json_build_object('schema', p.nspname, 'table', p.relname, 'name', ic.relname,
      'definition', pg_get_indexdef(i.indexrelid), 'unique', i.indisunique, 'primary', i.indisprimary,
      'constraint', (select k.conname from pg_constraint k
        where k.conrelid = i.indrelid and k.conindid = i.indexrelid and k.contype in ('p', 'u', 'x')),
      'valid', i.indisvalid, 'ready', i.indisready, 'method', am.amname,
      'columns', (select json_agg(a.attname order by k.ord) from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
        left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum and k.attnum <> 0
        where k.ord <= i.indnkeyatts),
      'partial', i.indpred is not null)), '[]')
    from picked p
      join pg_index i on i.indexrelid = p.indexrelid
      join pg_class ic on ic.oid = i.indexrelid
      join pg_am am on am.oid = ic.relam`;
}

/**
 * The policies of the tables in `scope`, grouped: policies with the same command, permissiveness, roles
 * and stored expression trees (compared by a 64-bit hash of the node tree), on tables whose columns the
 * trees name have the same names, are one group, printed once with pg_get_expr. Printing every policy
 * would cost ~15 µs each on the server; hashing the trees ~2 µs. Trees that could print the table's own
 * name (a sub-select, a whole-row reference) are never grouped across tables. So a group's USING and
 * WITH CHECK are exactly what pg_get_expr prints for each member. `probe` as for tablesQuery.
 */
export function policiesQuery(tx: Tx, scope: TableScope, probe: readonly string[] = []): Fragment {
  const probed = probe.length ? tx`(select array_agg(x) from unnest(k.attnames) x where x = any(${textArray(probe)}::text[]))` : tx`null`;
  // attnames[n] is the name of column n (null when dropped): one look-up per table, then only arithmetic.
  return tx`with rel as materialized (
      select r.oid, r.nspname, r.relname,
        (select array_agg(case when a.attisdropped then null else a.attname::text end order by a.attnum)
          from pg_attribute a where a.attrelid = r.oid and a.attnum > 0) as attnames
      from (${relations(tx, scope, TABLES)}) r
    ),
    p as materialized (
      select p.oid, p.polrelid, p.polname, p.polcmd, p.polpermissive, p.polroles, k.attnames,
        coalesce(hashtextextended(p.polqual::text, 0), 0) as qual_hash, coalesce(hashtextextended(p.polwithcheck::text, 0), 0) as check_hash
      from pg_policy p join rel k on k.oid = p.polrelid
    ),
    shapes as materialized (
      -- The column numbers follow ":varattno " in the node tree's text (split, not a regular expression: ~20x faster).
      select s.qual_hash, s.check_hash,
        array(select distinct split_part(v.piece, ' ', 1)::int2 from unnest(string_to_array(x.trees, ':varattno ')) with ordinality v(piece, n)
          where v.n > 1 order by 1) as attnums,
        position('{SUBLINK' in x.trees) > 0 or position(':varattno 0 ' in x.trees) > 0 as names_table
      from (select qual_hash, check_hash, min(oid) as rep from p group by qual_hash, check_hash) s
        join pg_policy rep on rep.oid = s.rep
        cross join lateral (select coalesce(rep.polqual::text, '') || ' ' || coalesce(rep.polwithcheck::text, '') as trees) x
    ),
    g as (
      select min(p.oid) as rep, p.polcmd, p.polpermissive, p.polroles, array_agg(p.polrelid::bigint) as tables, array_agg(p.polname::text) as policies
      from p join shapes sh using (qual_hash, check_hash)
      group by p.qual_hash, p.check_hash, p.polcmd, p.polpermissive, p.polroles,
        case when sh.names_table then p.polrelid end,
        -- The names of the columns the trees name, as one text (chr(1) never occurs in a name); most trees
        -- name one column (the tenant key), spared the sub-select.
        case when cardinality(sh.attnums) = 1 then coalesce(p.attnames[sh.attnums[1]], sh.attnums[1]::text)
          else array_to_string(array(select coalesce(p.attnames[n], n::text) from unnest(sh.attnums) n), chr(1)) end
    )
    select json_build_object(
      'tables', (select coalesce(json_agg(json_build_array(k.oid::bigint, k.nspname, k.relname, ${probed})), '[]')
        from rel k),
      'groups', (select coalesce(json_agg(json_build_array(g.polcmd::text, g.polpermissive,
        (select json_agg(case when x = 0 then 'public' else pg_get_userbyid(x)::text end) from unnest(g.polroles) x),
        pg_get_expr(rep.polqual, rep.polrelid), pg_get_expr(rep.polwithcheck, rep.polrelid), g.tables, g.policies)), '[]')
        from g join pg_policy rep on rep.oid = g.rep))`;
}

/** policiesQuery's JSON (compact: each table once, members as parallel arrays) as rows. */
export function policyGroupRows(raw: unknown): PolicyGroupRow[] {
  const { tables, groups } = raw as { tables: [number, string, string, string[] | null][]; groups: [string, boolean, string[] | null, string | null, string | null, number[], string[]][] };
  const byOid = new Map(tables.map(([oid, schema, table, probed]) => [Number(oid), { schema, table, probed }]));
  return groups.map(([polcmd, permissive, roles, using, withCheck, oids, policies]) => ({
    polcmd,
    permissive,
    roles: roles ?? [],
    using,
    withCheck,
    members: oids.map((oid, i) => {
      const t = byOid.get(Number(oid))!;
      return { tableOid: Number(oid), schema: t.schema, table: t.table, probed: t.probed, policy: policies[i]! };
    }),
  }));
}

/** Every function of the schemas (extensions' aside), or the named ones; `executableBy`: also read EXECUTE for that role. */
export function functionsQuery(tx: Tx, scope: { schemas: readonly string[] } | { functions: readonly QualifiedName[] }, executableBy?: string): Fragment {
  const source =
    "functions" in scope
      ? tx`jsonb_to_recordset(${names(tx, scope.functions)}) as f(schema text, name text)
          join pg_namespace n on n.nspname = f.schema
          join pg_proc p on p.pronamespace = n.oid and p.proname = f.name`
      : tx`pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname = any(${textArray(scope.schemas)}::text[]) and ${tx.unsafe(notExtensionMember("pg_proc", "p.oid"))}`;
  const executable = executableBy
    ? tx`case when exists (select 1 from pg_roles where rolname = ${executableBy}) then has_function_privilege(${executableBy}, p.oid, 'EXECUTE') end`
    : tx`null::boolean`;
  return tx`select coalesce(json_agg(json_build_object('schema', x.nspname, 'name', x.proname,
      'identityArguments', pg_get_function_identity_arguments(x.oid), 'prokind', x.prokind::text,
      'returns', pg_get_function_result(x.oid), 'language', l.lanname, 'securityDefiner', x.prosecdef,
      'provolatile', x.provolatile::text, 'config', coalesce(x.proconfig, '{}')::text[],
      'definition', case when x.prokind in ('f', 'p') then pg_get_functiondef(x.oid) end, 'executable', x.executable)), '[]')
    from (select p.oid, n.nspname, p.proname, p.prokind, p.prosecdef, p.provolatile, p.proconfig, p.prolang, ${executable} as executable
      from ${source}) x
      join pg_language l on l.oid = x.prolang`;
}

/** Triggers of the tables in `scope` (of any relation kind: views have INSTEAD OF triggers); internal ones aside. */
export function triggersQuery(tx: Tx, scope: TableScope): Fragment {
  return tx`select coalesce(json_agg(json_build_object('schema', r.nspname, 'table', r.relname, 'name', g.tgname,
      'tgenabled', g.tgenabled::text, 'function', fn.nspname || '.' || fp.proname, 'definition', pg_get_triggerdef(g.oid))), '[]')
    from (${relations(tx, scope, "")}) r
      join pg_trigger g on g.tgrelid = r.oid and not g.tgisinternal
      join pg_proc fp on fp.oid = g.tgfoid
      join pg_namespace fn on fn.oid = fp.pronamespace`;
}

export function viewsQuery(tx: Tx, schemas: readonly string[]): Fragment {
  return tx`select coalesce(json_agg(json_build_object('schema', r.nspname, 'name', r.relname, 'materialized', r.relkind = 'm',
      'definition', pg_get_viewdef(r.oid))), '[]')
    from (${relations(tx, { schemas }, "'v', 'm'")}) r`;
}

export function sequencesQuery(tx: Tx, schemas: readonly string[]): Fragment {
  return tx`select coalesce(json_agg(json_build_object('schema', r.nspname, 'name', r.relname, 'dataType', format_type(s.seqtypid, null),
      'ownedBy', (select oc.relname || '.' || a.attname
        from pg_depend d
          join pg_class oc on oc.oid = d.refobjid
          join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        where d.classid = 'pg_class'::regclass and d.objid = r.oid and d.refclassid = 'pg_class'::regclass
          and d.deptype in ('a', 'i')))), '[]')
    from (${relations(tx, { schemas }, "'S'")}) r join pg_sequence s on s.seqrelid = r.oid`;
}

/** The effective ACL (the default ACL when none was granted) of schemas, relations and functions. */
export function privilegesQuery(tx: Tx, schemas: readonly string[]): Fragment {
  const inSchemas = textArray(schemas);
  return tx`with objects as (
      select 'schema' as object_type, n.nspname as schema_name, n.nspname::text as object_name,
        coalesce(n.nspacl, acldefault('n', n.nspowner)) as acl
      from pg_namespace n where n.nspname = any(${inSchemas}::text[])
      union all
      select case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'view' else 'table' end,
        r.nspname, r.relname::text,
        coalesce(r.relacl, acldefault(case when r.relkind = 'S' then 's' else 'r' end::"char", r.relowner))
      from (${relations(tx, { schemas }, "'r', 'p', 'v', 'm', 'S'")}) r
      union all
      select 'function', n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
        coalesce(p.proacl, acldefault('f', p.proowner))
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any(${inSchemas}::text[]) and ${tx.unsafe(notExtensionMember("pg_proc", "p.oid"))}
    )
    select coalesce(json_agg(json_build_object('objectType', o.object_type, 'schema', o.schema_name, 'name', o.object_name,
      'grantee', case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end,
      'privilege', a.privilege_type, 'grantable', a.is_grantable)), '[]')
    from objects o cross join lateral aclexplode(o.acl) a`;
}

export function serverQuery(tx: Tx): Fragment {
  return tx`select json_build_object('versionNum', current_setting('server_version_num')::int, 'version', current_setting('server_version'),
    'currentUser', current_user::text,
    'currentUserBypassesRls', coalesce((select r.rolsuper or r.rolbypassrls from pg_roles r where r.rolname = current_user), false))`;
}

/**
 * The roles that act as `appRole`: the role itself, its members (who use it), and the roles one of those
 * can use, each with how it gets there; and which of `appendOnlyTables` they (superusers aside) may
 * UPDATE, DELETE or TRUNCATE. PostgreSQL 16+ memberships can grant neither INHERIT nor SET (ADMIN only,
 * e.g. the implicit grant to a CREATEROLE creator): such a member cannot act as the role. to_jsonb reads
 * the columns where they exist.
 */
export function roleReachQuery(tx: Tx, appRole: string, appendOnlyTables: readonly string[]): Fragment {
  return tx`with recursive uses as (
      select m.roleid, m.member from pg_auth_members m
      where coalesce((to_jsonb(m) ->> 'inherit_option')::boolean, true) or coalesce((to_jsonb(m) ->> 'set_option')::boolean, true)
    ),
    members(oid, via) as (
      select r.oid, null::text collate "C" from pg_roles r where r.rolname = ${appRole}
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
        case when r.rolname = ${appRole} then 'app'
          when r.oid in (select oid from members) then 'member' else 'reachable' end as kind,
        reach.via
      from reach join pg_roles r on r.oid = reach.oid
      order by r.oid, reach.depth
    )
    select json_build_object('appRoleExists', exists (select 1 from pg_roles where rolname = ${appRole}),
      'roles', (select coalesce(json_agg(json_build_object('oid', l.oid::bigint, 'name', l.rolname, 'superuser', l.rolsuper,
        'bypassRls', l.rolbypassrls, 'canLogin', l.rolcanlogin, 'kind', l.kind, 'via', l.via) order by l.rolname), '[]')
        from labelled l),
      'appendOnlyPrivileges', (select coalesce(json_agg(json_build_object('role', r.rolname, 'table', t.name, 'privilege', p.privilege)
          order by r.rolname, t.name, p.privilege), '[]')
        from (select distinct oid from members) m
          join pg_roles r on r.oid = m.oid and not r.rolsuper
          cross join (select q as name, to_regclass(q) as oid from unnest(${textArray(appendOnlyTables)}::text[]) q) t
          cross join unnest(array['UPDATE', 'DELETE', 'TRUNCATE']) p(privilege)
        where t.oid is not null and has_table_privilege(r.oid, t.oid, p.privilege)))`;
}

/**
 * Sends the given queries as one statement (one column each) and answers their JSON values by name.
 * Created, hence queued on the connection, at once: calls made one after another are pipelined.
 */
export function readKinds<K extends string>(tx: Tx, queries: Record<K, Fragment>): Promise<Record<K, unknown>> {
  // The column names are this module's callers' own keys, never input.
  const column = (name: string, query: Fragment) => tx`(${query}) as ${tx.unsafe(`"${name.replace(/"/g, '""')}"`)}`;
  const [first, ...rest] = Object.entries(queries) as [string, Fragment][];
  const columns = rest.reduce<Fragment>((list, [name, query]) => tx`${list}, ${column(name, query)}`, column(first![0], first![1]));
  return tx<Record<K, unknown>[]>`select ${columns}`.execute().then((rows) => rows[0]!);
}
