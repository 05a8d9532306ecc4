/**
 * The console's own compliance rules, each one small function over one parsed statement (its parse
 * tree and the catalog's analysis) plus what the lint knows about the pending set. Locking and
 * rerun-safety rules are squawk's (squawk.ts); these are about tenant isolation and regulated data.
 */
import type {
  AlterDefaultPrivilegesStmt,
  AlterFunctionStmt,
  AlterPolicyStmt,
  AlterTableStmt,
  ColumnDef,
  CreateFunctionStmt,
  CreateStmt,
  DefElem,
  CreatePolicyStmt,
  DeleteStmt,
  DropStmt,
  GrantRoleStmt,
  GrantStmt,
  IndexStmt,
  Node,
  UpdateStmt,
} from "libpg-query";
import { isTransactionControl, type Migration, type Statement, type TableRef } from "../migrations";
import { classificationOf, DATA_CLASS_TAGS, isTaggedTable, type DataClass } from "../../db/schema/classification";
import { CONTEXT_SETTINGS } from "../../db/schema/rls";
import { TARGET_SCHEMAS } from "../../db/schema/schemas";
import { findNodes, isConstantTrue, isPublicRole, nameParts, partsRef, requiresTenantPredicate, roleOptionOn, tableKey, tableRef, unwrap } from "./ast";
import { LONG_LOCK_RULE, longLockHits, type LockFacts } from "./lock-rules";
import { createdTables, type PendingSet } from "./pending";
import { suggestedClass } from "./sensitive-names";
import { typeChangeRewrites } from "./type-change";
import { tableClasses, updatedColumns } from "./touches";
import type { FindingTouches, RuleInfo } from "./types";

export interface RuleContext {
  migration: Migration;
  /** Position of the migration in the pending set. */
  position: number;
  pending: PendingSet;
  /** Created by an earlier statement of the pending set and absent from the target before it. */
  isNewTable(table: TableRef): boolean;
  /** What the target (and the pending set so far) says about columns, for the lock rules. */
  facts: LockFacts;
  /** Every function or procedure `schema.name` has a SET search_path, on the target or as the pending set so far leaves it. */
  hasFixedSearchPath(key: string): boolean;
}

/** One occurrence; the finding's severity, why and location come from the rule and the statement. */
export interface Hit {
  message: string;
  /** Added to the statement's own touches. */
  touches?: Partial<FindingTouches>;
}

export interface ConsoleRule extends RuleInfo {
  source: "console";
  check(s: Statement, ctx: RuleContext): Hit[];
}

const rule = (r: Omit<ConsoleRule, "source">): ConsoleRule => ({ source: "console", ...r });
const q = tableKey;
const tagged = (cls: DataClass) => `[${DATA_CLASS_TAGS[cls]}] ${cls}`;
const TARGET_SCHEMA_SET: ReadonlySet<string> = new Set(TARGET_SCHEMAS);
const CLINIC_SETTING = CONTEXT_SETTINGS.clinicId;

// ---------------------------------------------------------------------------------------------
// Tagged data

const dropTaggedColumn = rule({
  id: "console/drop-tagged-column",
  severity: "error",
  title: "Drops a column holding regulated data",
  why: "Destroys identifier, personal, health or secret data for good (no rollback brings it back); archive or anonymise it under the retention policy first, then drop with the compliance officer's sign-off.",
  check: (s) =>
    s.analysis.columns.flatMap((c) => {
      const cls = c.action === "drop" ? classificationOf(c.table.schema, c.table.name, c.name) : null;
      return cls ? [{ message: `Drops ${q(c.table)}.${c.name}, tagged ${tagged(cls)}: its values are destroyed.` }] : [];
    }),
});

const dropTaggedTable = rule({
  id: "console/drop-tagged-table",
  severity: "error",
  title: "Drops a table holding regulated data",
  why: "Destroys every row of regulated data at once, including rows under legal retention; archive what must be kept, and drop only with the compliance officer's sign-off.",
  check(s) {
    const [kind, value] = unwrap(s.ast);
    const stmt = value as DropStmt;
    if (kind !== "DropStmt" || stmt.removeType !== "OBJECT_TABLE") return [];
    return (stmt.objects ?? []).flatMap((o) => {
      const table = partsRef(nameParts(o));
      const classes = tableClasses(table);
      return classes.length ? [{ message: `Drops ${q(table)}, which holds ${classes.map(tagged).join(", ")} data.` }] : [];
    });
  },
});

const renameTaggedColumn = rule({
  id: "console/rename-tagged-column",
  severity: "warning",
  title: "Renames a column holding regulated data",
  why: "Classification, masking and verification know tagged columns by name, and readers break; add the new column, backfill, switch readers, drop the old one later, and update db/schema/classification.ts in the same change.",
  check: (s) =>
    s.analysis.columns.flatMap((c) => {
      if (c.action !== "rename") return [];
      const cls = classificationOf(c.table.schema, c.table.name, c.name) ?? classificationOf(c.table.schema, c.table.name, c.newName ?? "");
      return cls ? [{ message: `Renames ${q(c.table)}.${c.name} (tagged ${tagged(cls)}) to ${c.newName}.` }] : [];
    }),
});

const retypeTaggedColumn = rule({
  id: "console/retype-tagged-column",
  severity: "warning",
  title: "Changes the type of a column holding regulated data",
  why: "Rewrites every value under ACCESS EXCLUSIVE and may truncate or mis-convert regulated data (leading zeros of a CPF, dates); add a column of the new type, backfill and verify, then switch.",
  check: (s) =>
    s.analysis.columns.flatMap((c) => {
      const cls = c.action === "alter-type" ? classificationOf(c.table.schema, c.table.name, c.name) : null;
      return cls ? [{ message: `Changes ${q(c.table)}.${c.name} (tagged ${tagged(cls)}) to type ${c.type ?? "?"}.` }] : [];
    }),
});

const truncateTaggedTable = rule({
  id: "console/truncate-tagged-table",
  severity: "error",
  title: "Truncates a table holding regulated data",
  why: "Empties the table in one step, including rows under legal retention and audit evidence; delete only what the retention policy allows, with a WHERE, after archiving.",
  check(s) {
    const [kind, value] = unwrap(s.ast);
    if (kind !== "TruncateStmt") return [];
    return (value.relations as Node[] | undefined ?? []).flatMap((n) => {
      if (!("RangeVar" in n)) return [];
      const table = tableRef(n.RangeVar);
      return isTaggedTable(table.schema, table.name)
        ? [{ message: `TRUNCATE ${q(table)} deletes every row of a table holding ${tableClasses(table).map(tagged).join(", ")} data.` }]
        : [];
    });
  },
});

const deleteTaggedWithoutWhere = rule({
  id: "console/delete-tagged-without-where",
  severity: "error",
  title: "Deletes every row of a table holding regulated data",
  why: "A DELETE without a WHERE (or with an always-true one) erases all clinics' regulated rows, including those under retention; restrict it to the rows the retention policy allows.",
  check: (s) =>
    findNodes<DeleteStmt>(s.ast, "DeleteStmt").flatMap((d) => {
      const table = tableRef(d.relation);
      if (!isTaggedTable(table.schema, table.name) || !unbounded(d.whereClause)) return [];
      return [{ message: `DELETE FROM ${q(table)} has no restricting WHERE: every row goes, in every clinic.`, touches: { classes: tableClasses(table) } }];
    }),
});

const updateTaggedColumnWithoutWhere = rule({
  id: "console/update-tagged-column-without-where",
  severity: "error",
  title: "Overwrites a regulated column in every row",
  why: "An UPDATE without a WHERE replaces the tagged values of every patient in every clinic, beyond any rollback; restrict it with a WHERE, or add a new column and backfill it.",
  check: (s) =>
    findNodes<UpdateStmt>(s.ast, "UpdateStmt").flatMap((u) => {
      if (!unbounded(u.whereClause)) return [];
      const hit = updatedColumns(u).filter((c) => c.dataClass);
      return hit.length
        ? [{ message: `UPDATE ${q(tableRef(u.relation))} overwrites ${hit.map((c) => `${c.column} (${tagged(c.dataClass!)})`).join(", ")} in every row.` }]
        : [];
    }),
});

const unboundedUpdateOnTaggedTable = rule({
  id: "console/unbounded-update-on-tagged-table",
  severity: "warning",
  title: "Updates every row of a table holding regulated data",
  why: "Rewrites and row-locks the whole table of regulated rows (it leaves tagged columns alone); fine for a backfill of a new column, otherwise restrict it with a WHERE or batch it.",
  check: (s) =>
    findNodes<UpdateStmt>(s.ast, "UpdateStmt").flatMap((u) => {
      const table = tableRef(u.relation);
      if (!unbounded(u.whereClause) || !isTaggedTable(table.schema, table.name)) return [];
      if (updatedColumns(u).some((c) => c.dataClass)) return []; // update-tagged-column-without-where
      return [{ message: `UPDATE ${q(table)} has no restricting WHERE: every row of a table holding regulated data is rewritten.`, touches: { classes: tableClasses(table) } }];
    }),
});

function unbounded(where: Node | undefined): boolean {
  return where === undefined || isConstantTrue(where);
}

// ---------------------------------------------------------------------------------------------
// Row level security

const disableRls = rule({
  id: "console/disable-rls",
  severity: "error",
  title: "Disables row level security",
  why: "Without RLS any role with table privileges reads and writes every clinic's rows; keep RLS enabled and fix the policy instead.",
  check: (s) =>
    s.analysis.rls.flatMap((m) => (m.action === "disable" ? [{ message: `DISABLE ROW LEVEL SECURITY on ${q(m.table)}: its policies stop applying.` }] : [])),
});

const noForceRls = rule({
  id: "console/no-force-rls",
  severity: "error",
  title: "Stops forcing row level security",
  why: "Without FORCE the table's owner, the role migrations and jobs often run as, bypasses every policy; keep FORCE ROW LEVEL SECURITY.",
  check: (s) =>
    s.analysis.rls.flatMap((m) => (m.action === "no-force" ? [{ message: `NO FORCE ROW LEVEL SECURITY on ${q(m.table)}: its owner bypasses the policies again.` }] : [])),
});

const newTableWithoutRls = rule({
  id: "console/new-table-without-rls",
  severity: "error",
  title: "Creates a table without row level security",
  why: "Every table in public, lgpd and audit must have RLS enabled and forced, or it is readable across clinics by any role with privileges; ENABLE and FORCE ROW LEVEL SECURITY in the migration that creates it.",
  check: (s, ctx) =>
    newTargetTables(s, ctx).flatMap((table) =>
      ctx.pending.securedIn(ctx.position, table) || ctx.pending.securedLater(ctx.position, table)
        ? []
        : [{ message: `Creates ${q(table)} and nothing in the pending migrations enables and forces row level security on it.`, touches: { rls: true } }],
    ),
});

const rlsEnabledLater = rule({
  id: "console/rls-enabled-later",
  severity: "warning",
  title: "Creates a table whose row level security comes in a later migration",
  why: "Until the later migration runs the table has no RLS: a deployment that stops in between, or promotes migrations one at a time, leaves it open; ENABLE and FORCE in the migration that creates it.",
  check: (s, ctx) =>
    newTargetTables(s, ctx).flatMap((table) => {
      if (ctx.pending.securedIn(ctx.position, table)) return [];
      const later = ctx.pending.securedLater(ctx.position, table);
      return later ? [{ message: `Creates ${q(table)} without RLS; ${later.tag} enables and forces it later.`, touches: { rls: true } }] : [];
    }),
});

/** Tables the statement creates in a target schema that did not exist on the target. */
function newTargetTables(s: Statement, ctx: RuleContext): TableRef[] {
  return createdTables(s).filter((t) => TARGET_SCHEMA_SET.has(t.schema) && !ctx.pending.existingTables.has(q(t)));
}

const roleBypassRls = rule({
  id: "console/role-bypassrls",
  severity: "error",
  title: "Gives a role BYPASSRLS",
  why: "A BYPASSRLS role ignores every policy and sees all clinics' rows; the application and migration roles must be NOBYPASSRLS (the compliance board verifies it).",
  check: (s) => roleOption(s, "bypassrls", "BYPASSRLS: it ignores every row level security policy"),
});

const roleSuperuser = rule({
  id: "console/role-superuser",
  severity: "error",
  title: "Makes a role superuser",
  why: "A superuser bypasses RLS even where it is FORCEd and can change anything on the cluster; grant the specific privileges needed to a NOSUPERUSER role.",
  check: (s) => roleOption(s, "superuser", "SUPERUSER: it bypasses row level security everywhere on the server"),
});

function roleOption(s: Statement, option: string, what: string): Hit[] {
  const [kind, value] = unwrap(s.ast);
  if (kind !== "CreateRoleStmt" && kind !== "AlterRoleStmt") return [];
  if (!roleOptionOn(value.options as Node[] | undefined, option)) return [];
  const role = kind === "CreateRoleStmt" ? (value.role as string) : roleLabel(value.role as { rolename?: string; roletype?: string });
  return [{ message: `Role ${role} gets ${what}.`, touches: { rls: true } }];
}

function roleLabel(spec: { rolename?: string; roletype?: string } | undefined): string {
  return spec?.rolename ?? (spec?.roletype ?? "?").replace("ROLESPEC_", "");
}

// ---------------------------------------------------------------------------------------------
// Policies

type PolicyStmt = { kind: "create"; stmt: CreatePolicyStmt } | { kind: "alter"; stmt: AlterPolicyStmt };

function policyOf(s: Statement): (PolicyStmt & { table: TableRef; name: string }) | null {
  const [kind, value] = unwrap(s.ast);
  if (kind === "CreatePolicyStmt") {
    const stmt = value as CreatePolicyStmt;
    return { kind: "create", stmt, table: tableRef(stmt.table), name: stmt.policy_name ?? "?" };
  }
  if (kind === "AlterPolicyStmt") {
    const stmt = value as AlterPolicyStmt;
    return { kind: "alter", stmt, table: tableRef(stmt.table), name: stmt.policy_name ?? "?" };
  }
  return null;
}

/**
 * Whether the policy can widen access: a permissive policy adds rows, and altering any policy's
 * expressions (restrictive ones included) can lift a limit. A new restrictive policy only narrows.
 */
function canWiden(p: PolicyStmt): boolean {
  return p.kind === "alter" || Boolean(p.stmt.permissive); // the parse tree omits `permissive: false`
}

const dropPolicy = rule({
  id: "console/drop-policy",
  severity: "warning",
  title: "Drops a row level security policy",
  why: "Dropping a permissive policy denies what it allowed and dropping a restrictive one lifts its limit: isolation changes either way; prefer ALTER POLICY, and check isolation after.",
  check(s, ctx) {
    const later = ctx.migration.statements.slice(s.index + 1);
    return s.analysis.rls.flatMap((m) => {
      if (m.action !== "drop-policy") return [];
      const recreated = later.some((l) => l.analysis.rls.some((n) => n.action === "create-policy" && n.policy === m.policy && q(n.table) === q(m.table)));
      return [{ message: `Drops policy ${m.policy} on ${q(m.table)}${recreated ? "; this migration creates it again later" : " and does not create it again"}.` }];
    });
  },
});

const policyAlwaysTrue = rule({
  id: "console/policy-always-true",
  severity: "error",
  title: "Policy expression that is always true",
  why: "A permissive policy whose USING or WITH CHECK is always true opens every row of every clinic to its roles; compare the tenant key with current_setting('app.current_clinic_id', true).",
  check(s) {
    const p = policyOf(s);
    if (!p || !canWiden(p)) return [];
    return (
      [
        ["USING", p.stmt.qual],
        ["WITH CHECK", p.stmt.with_check],
      ] as const
    ).flatMap(([clause, expr]) =>
      isConstantTrue(expr) ? [{ message: `Policy ${p.name} on ${q(p.table)} has ${clause} that is always true: it admits every row.` }] : [],
    );
  },
});

const policyMissingTenantPredicate = rule({
  id: "console/policy-missing-tenant-predicate",
  severity: "error",
  title: "Tenant policy without the clinic predicate",
  why: "On a tenant table every policy must AND `<tenant key> = NULLIF(current_setting('app.current_clinic_id', true), '')::uuid` (db/schema/rls.ts); anything else can show or write another clinic's rows.",
  check(s, ctx) {
    const p = policyOf(s);
    if (!p || !canWiden(p)) return [];
    const key = ctx.pending.tenantKey(p.table);
    if (!key) return [];
    return (
      [
        ["USING", p.stmt.qual],
        ["WITH CHECK", p.stmt.with_check],
      ] as const
    ).flatMap(([clause, expr]) =>
      // An absent clause admits nothing on its own; an always-true one is policy-always-true's.
      expr && !isConstantTrue(expr) && !requiresTenantPredicate(expr, key, CLINIC_SETTING)
        ? [{ message: `Policy ${p.name} on tenant table ${q(p.table)}: ${clause} does not require ${key} = current_setting('${CLINIC_SETTING}').` }]
        : [],
    );
  },
});

const policyWithoutWithCheck = rule({
  id: "console/policy-without-with-check",
  severity: "warning",
  title: "INSERT or UPDATE policy without WITH CHECK",
  why: "Without WITH CHECK an INSERT policy admits no row at all and an UPDATE policy checks new rows only through its USING clause; state the tenant predicate in WITH CHECK as db/schema/rls.ts does.",
  check(s, ctx) {
    const p = policyOf(s);
    if (!p || p.kind !== "create" || !p.stmt.permissive || p.stmt.with_check || !ctx.pending.tenantKey(p.table)) return [];
    const cmd = p.stmt.cmd_name;
    if (cmd === "insert") return [{ message: `INSERT policy ${p.name} on ${q(p.table)} has no WITH CHECK: PostgreSQL refuses every insert through it.` }];
    if (cmd === "update") return [{ message: `UPDATE policy ${p.name} on ${q(p.table)} has no WITH CHECK: new rows are checked against its USING clause only.` }];
    return [];
  },
});

const appendOnlyWritePolicy = rule({
  id: "console/append-only-write-policy",
  severity: "error",
  title: "Write policy on an append-only table",
  why: "audit.audit_logs and consent_records are evidence: no UPDATE or DELETE policy may exist, or the application can rewrite or erase history; record a new row instead.",
  check(s, ctx) {
    const p = policyOf(s);
    if (!p || p.kind !== "create" || !p.stmt.permissive || !ctx.pending.isAppendOnly(p.table)) return [];
    const cmd = p.stmt.cmd_name ?? "all";
    return cmd === "update" || cmd === "delete" || cmd === "all"
      ? [{ message: `Policy ${p.name} lets its roles ${cmd === "all" ? "update and delete" : cmd} rows of append-only ${q(p.table)}.` }]
      : [];
  },
});

// ---------------------------------------------------------------------------------------------
// Privileges, locks, opaque code

const grantToPublic = rule({
  id: "console/grant-to-public",
  severity: "error",
  title: "Grants to PUBLIC",
  why: "PUBLIC is every role on the server, today's and tomorrow's, including other databases' roles; grant to app_user or another named role.",
  check(s) {
    const [kind, value] = unwrap(s.ast);
    if (kind === "GrantRoleStmt") {
      const stmt = value as GrantRoleStmt;
      if (!stmt.is_grant || !(stmt.grantee_roles ?? []).some(isPublicRole)) return [];
      const roles = (stmt.granted_roles ?? []).map((r) => ("AccessPriv" in r ? r.AccessPriv.priv_name : "?"));
      return [{ message: `Makes every role a member of ${roles.join(", ")}.` }];
    }
    const grant = kind === "GrantStmt" ? (value as GrantStmt) : kind === "AlterDefaultPrivilegesStmt" ? (value as AlterDefaultPrivilegesStmt).action : undefined;
    if (!grant?.is_grant || !(grant.grantees ?? []).some(isPublicRole)) return [];
    const privileges = (grant.privileges ?? []).map((p) => ("AccessPriv" in p ? (p.AccessPriv.priv_name ?? "").toUpperCase() : "?")).join(", ") || "ALL";
    const what = (grant.objtype ?? "OBJECT_TABLE").replace("OBJECT_", "").toLowerCase().replaceAll("_", " ");
    const names = (grant.objects ?? []).map((o) => ("RangeVar" in o ? q(tableRef(o.RangeVar)) : nameParts(o).join(".") || "?")).join(", ");
    const on =
      kind === "AlterDefaultPrivilegesStmt"
        ? `every ${what} created from now on`
        : grant.targtype === "ACL_TARGET_ALL_IN_SCHEMA"
          ? `every ${what} in schema ${names}`
          : `${what} ${names}`;
    return [{ message: `Grants ${privileges} on ${on} to PUBLIC, every role on the server.` }];
  },
});

const nonConcurrentIndex = rule({
  id: "console/non-concurrent-index",
  severity: "warning",
  title: "CREATE INDEX without CONCURRENTLY on an existing table",
  why: "A plain CREATE INDEX holds a SHARE lock that blocks every write to the table for the whole build; use CREATE INDEX CONCURRENTLY IF NOT EXISTS in its own non-transactional migration (the executor drops an invalid leftover and rebuilds).",
  check(s, ctx) {
    const [kind, value] = unwrap(s.ast);
    const stmt = value as IndexStmt;
    if (kind !== "IndexStmt" || stmt.concurrent) return [];
    const table = tableRef(stmt.relation);
    if (ctx.isNewTable(table)) return [];
    return [{ message: `${s.analysis.summary} blocks writes to ${q(table)}, which exists on the target, until the index is built.` }];
  },
});

const opaqueDoBlock = rule({
  id: "console/opaque-do-block",
  severity: "info",
  title: "Procedural code the lint cannot see into",
  why: "Statements inside a DO block are not checked by any rule (squawk's or the console's); review them by hand, or write them out as plain statements.",
  check: (s) => (unwrap(s.ast)[0] === "DoStmt" ? [{ message: "DO block: the statements inside it are not linted." }] : []),
});

const columnTypeRewrite = rule({
  id: "console/column-type-rewrite",
  severity: "warning",
  title: "Column type change that rewrites the table",
  why: "The table is rewritten under ACCESS EXCLUSIVE, so its readers and writers wait for the whole rewrite; add a column of the new type, backfill it in batches, switch readers, drop the old one. Changes PostgreSQL makes in the catalog only (varchar(n) to text or to a longer varchar, numeric to a wider precision) are not flagged.",
  check(s, ctx) {
    const [kind, value] = unwrap(s.ast);
    if (kind !== "AlterTableStmt") return [];
    const stmt = value as AlterTableStmt;
    const table = tableRef(stmt.relation);
    if (ctx.isNewTable(table) || !ctx.pending.existingTables.has(q(table))) return [];
    return (stmt.cmds ?? []).flatMap((c) => {
      if (!("AlterTableCmd" in c) || c.AlterTableCmd.subtype !== "AT_AlterColumnType") return [];
      const cmd = c.AlterTableCmd;
      const def = cmd.def && "ColumnDef" in cmd.def ? cmd.def.ColumnDef : undefined;
      const before = ctx.facts.columnType(table, cmd.name ?? "");
      const rewrites = typeChangeRewrites(before, def?.typeName, def?.raw_default);
      if (rewrites === false) return [];
      const to = s.analysis.columns.find((x) => x.name === cmd.name && x.action === "alter-type")?.type ?? "?";
      return [{ message: `Changes ${q(table)}.${cmd.name}${before ? ` from ${before}` : ""} to ${to}${def?.raw_default ? " with USING" : ""}: PostgreSQL rewrites the whole table under ACCESS EXCLUSIVE.` }];
    });
  },
});

const longLock = rule({ ...LONG_LOCK_RULE, check: (s, ctx) => longLockHits(s, ctx, ctx.facts) });

/** Columns a statement adds: ALTER TABLE … ADD COLUMN and the columns of CREATE TABLE. */
function addedColumns(s: Statement): { table: TableRef; column: string }[] {
  const [kind, value] = unwrap(s.ast);
  if (kind === "CreateStmt") {
    const stmt = value as CreateStmt;
    const table = tableRef(stmt.relation);
    return (stmt.tableElts ?? []).flatMap((e) => ("ColumnDef" in e && e.ColumnDef.colname ? [{ table, column: e.ColumnDef.colname }] : []));
  }
  if (kind === "AlterTableStmt") {
    const stmt = value as AlterTableStmt;
    const table = tableRef(stmt.relation);
    return (stmt.cmds ?? []).flatMap((c) => {
      const def = "AlterTableCmd" in c && c.AlterTableCmd.subtype === "AT_AddColumn" && c.AlterTableCmd.def && "ColumnDef" in c.AlterTableCmd.def ? (c.AlterTableCmd.def.ColumnDef as ColumnDef) : null;
      return def?.colname ? [{ table, column: def.colname }] : [];
    });
  }
  return [];
}

const unclassifiedSensitiveColumn = rule({
  id: "console/unclassified-sensitive-column",
  severity: "warning",
  title: "New column that looks like regulated data but is not classified",
  why: "Approvals, masking, lint and verification only protect columns tagged in db/schema/classification.ts; tag the new column there in the same change (or rename it if it holds no personal data).",
  check: (s) =>
    addedColumns(s).flatMap(({ table, column }) => {
      if (!TARGET_SCHEMA_SET.has(table.schema) || classificationOf(table.schema, table.name, column)) return [];
      const cls = suggestedClass(column);
      return cls
        ? [{ message: `${q(table)}.${column} looks like ${tagged(cls)} data but db/schema/classification.ts does not tag it.`, touches: { classes: [cls] } }]
        : [];
    }),
});

/** A CREATE or ALTER FUNCTION / PROCEDURE: its name as written, `schema.name` (unqualified: public), and its options. */
export function functionOptions(s: Statement): { name: string; key: string; options: DefElem[]; created: boolean } | null {
  const [kind, value] = unwrap(s.ast);
  const defs = (list: Node[] | undefined) => (list ?? []).flatMap((o) => ("DefElem" in o ? [o.DefElem] : []));
  const named = (parts: string[]) => ({ name: parts.join("."), key: (parts.length === 1 ? ["public", ...parts] : parts).slice(-2).join(".") });
  if (kind === "CreateFunctionStmt") {
    const stmt = value as CreateFunctionStmt;
    return { ...named((stmt.funcname ?? []).flatMap(nameParts)), options: defs(stmt.options), created: true };
  }
  if (kind === "AlterFunctionStmt") {
    const stmt = value as AlterFunctionStmt;
    return { ...named(nameParts({ ObjectWithArgs: stmt.func ?? {} } as Node)), options: defs(stmt.actions), created: false };
  }
  return null;
}

/** What a function option does to its search_path: "set" (SET … TO a value), "reset" (RESET, SET … TO DEFAULT, RESET ALL), or null (FROM CURRENT, another setting). */
export function searchPathChange(o: DefElem): "set" | "reset" | null {
  if (o.defname !== "set" || !o.arg || !("VariableSetStmt" in o.arg)) return null;
  const v = o.arg.VariableSetStmt;
  if (v.kind === "VAR_RESET_ALL") return "reset";
  if (v.name !== "search_path") return null;
  return v.kind === "VAR_SET_VALUE" ? "set" : v.kind === "VAR_SET_DEFAULT" || v.kind === "VAR_RESET" ? "reset" : null;
}

const securityDefinerSearchPath = rule({
  id: "console/security-definer-without-search-path",
  severity: "error",
  title: "SECURITY DEFINER function without a fixed search_path",
  why: "It runs with its owner's rights but resolves names through the caller's search_path, so any role that can create an object earlier on that path (a table, an operator, a function) runs code as the owner; add SET search_path = pg_catalog, <schemas> to the function.",
  check(s, ctx) {
    const f = functionOptions(s);
    if (!f) return [];
    const definer = f.options.some((o) => o.defname === "security" && o.arg && "Boolean" in o.arg && o.arg.Boolean.boolval);
    if (!definer) return [];
    const changes = f.options.map(searchPathChange);
    // ALTER FUNCTION keeps the SET clauses the function already has (on the target or from an earlier pending statement).
    const fixed = changes.includes("set") || (!f.created && !changes.includes("reset") && ctx.hasFixedSearchPath(f.key));
    return fixed ? [] : [{ message: `${f.created ? "Creates" : "Makes"} ${f.name} SECURITY DEFINER without SET search_path: callers choose where its unqualified names resolve.` }];
  },
});

// ---------------------------------------------------------------------------------------------
// Transactions

const transactionControl = rule({
  id: "console/transaction-control",
  severity: "error",
  title: "Transaction control in a migration",
  why: "The console runs each migration in a transaction of its own (CONCURRENTLY statements in autocommit); a BEGIN, COMMIT, ROLLBACK, SAVEPOINT or END in the file would end or split that transaction, so the executor refuses the file before anything runs. Remove the statement.",
  check: (s) => (isTransactionControl(s) ? [{ message: `${s.analysis.summary}: transaction control belongs to the console; remove it from the file.` }] : []),
});

/** Every check, in the order they are documented. */
export const CONSOLE_RULES: readonly ConsoleRule[] = [
  dropTaggedColumn,
  dropTaggedTable,
  renameTaggedColumn,
  retypeTaggedColumn,
  truncateTaggedTable,
  deleteTaggedWithoutWhere,
  updateTaggedColumnWithoutWhere,
  unboundedUpdateOnTaggedTable,
  disableRls,
  noForceRls,
  newTableWithoutRls,
  rlsEnabledLater,
  roleBypassRls,
  roleSuperuser,
  dropPolicy,
  policyAlwaysTrue,
  policyMissingTenantPredicate,
  policyWithoutWithCheck,
  appendOnlyWritePolicy,
  grantToPublic,
  nonConcurrentIndex,
  columnTypeRewrite,
  longLock,
  unclassifiedSensitiveColumn,
  securityDefinerSearchPath,
  opaqueDoBlock,
  transactionControl,
];

/**
 * Markers: a statement that touches tagged data, RLS or policies but drew no other finding still gets
 * one, so that every change needing the compliance officer reaches the gates through the findings.
 */
export const MARKER_RULES = {
  taggedData: {
    id: "console/tagged-data-change",
    source: "console",
    severity: "info",
    title: "Changes regulated data",
    why: "Adds, changes, writes, copies or grants on data tagged identifier, personal, health or secret: the compliance officer signs it off.",
  },
  rls: {
    id: "console/rls-change",
    source: "console",
    severity: "info",
    title: "Changes row level security or policies",
    why: "Tenant isolation depends on RLS switches and policies: the compliance officer signs off every change to them, even a safe one.",
  },
} as const satisfies Record<string, RuleInfo>;
