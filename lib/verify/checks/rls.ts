/**
 * Groups 3 to 5 as catalog checks: RLS enabled and forced on every table of the scanned schemas, tenant
 * policies (coverage, USING, WITH CHECK) on every tenant table, and append-only tables that nobody can
 * update or delete.
 *
 * Policies count when they apply to the application: to PUBLIC, to the application role, to a role that
 * uses it, or to a role one of those can use. Restrictive policies only ever narrow access and are not
 * required to be anything. A tenant table is one of db/schema's tables with a tenant key, or any other
 * table of the scanned schemas that has a clinic_id column.
 */
import type { PolicyCommand, PolicyGroupFact, TableFact, VerificationCatalog } from "../../introspect/verification-catalog";
import type { VerifyExpectations } from "../expectations";
import { classifyPredicate, ensureParser, type PredicateKind } from "../predicate";
import type { CheckOutcome } from "../types";
import { defineCheck, passOver, error, fail, listSome, pass, plural, section, sqlArray, sqlList } from "./util";

interface AnalysedGroup extends PolicyGroupFact {
  applies: boolean;
  /** null when the group has no USING (INSERT) or its tables no tenant key. */
  usingKind: PredicateKind | null;
  withCheckKind: PredicateKind | null;
}

interface PolicyAnalysis {
  tables: Map<number, TableFact>;
  groups: AnalysedGroup[];
  applicableRoles: string[];
}

const analyses = new WeakMap<VerificationCatalog, Promise<PolicyAnalysis>>();

/** Shared by the policy checks: every distinct expression is parsed and classified once. */
function analysePolicies(catalog: VerificationCatalog, expect: VerifyExpectations): Promise<PolicyAnalysis> {
  let analysis = analyses.get(catalog);
  if (!analysis) {
    analysis = (async () => {
      await ensureParser();
      const tables = section(catalog, "tables");
      const policyGroups = section(catalog, "policies");
      const applicableRoles = ["public", ...section(catalog, "roles").roles.map((r) => r.name)];
      const roleSet = new Set(applicableRoles);
      const classify = (expression: string | null, key: string | null) =>
        expression === null ? null : classifyPredicate(expression, key ?? expect.tenantColumn, expect.currentClinicIdSql);
      return {
        tables: new Map(tables.map((t) => [t.oid, t])),
        applicableRoles,
        groups: policyGroups.map((g) => ({
          ...g,
          applies: g.roles.some((r) => roleSet.has(r)),
          usingKind: classify(g.using, g.tenantKey),
          withCheckKind: classify(g.withCheck, g.tenantKey),
        })),
      };
    })();
    analyses.set(catalog, analysis);
  }
  return analysis;
}

const policyObject = (policy: string, table: string) => `policy ${policy} on ${table}`;

/** The two catalog transactions may straddle a CREATE TABLE: a policy's table can be unknown to the other. */
const tableName = (analysis: PolicyAnalysis, oid: number) => analysis.tables.get(oid)?.name ?? `table with oid ${oid}`;

/**
 * A check over tables that are not there must not pass: a pass becomes an error naming them (they are
 * tables.present's failure), a failure mentions them.
 */
function unlessMissing(catalog: VerificationCatalog, expected: readonly string[], outcome: CheckOutcome): CheckOutcome {
  const present = new Set(section(catalog, "tables").map((t) => t.name));
  const missing = expected.filter((t) => !present.has(t));
  if (missing.length === 0) return outcome;
  const note = `${plural(missing.length, "table")} of db/schema ${missing.length === 1 ? "is" : "are"} missing (${listSome(missing)}; see tables.present)`;
  if (outcome.status === "pass") return error(`Could not verify: ${note}.`, outcome.evidence.sql);
  return { ...outcome, summary: `${outcome.summary} Not verified: ${note}.` };
}

const declaredTables = (e: VerifyExpectations) => e.tables.map((t) => t.qualifiedName);
const tenantTables = (e: VerifyExpectations) => e.tables.filter((t) => t.tenantKey).map((t) => t.qualifiedName);

function schemaFilter(expect: VerifyExpectations): string {
  return `n.nspname IN ${sqlList(expect.schemas)} AND c.relkind IN ('r', 'p')`;
}

function policiesSql(expect: VerifyExpectations, tables: string[]): string {
  const where = tables.length
    ? `(schemaname || '.' || tablename) = ANY (${sqlArray([...new Set(tables)])})`
    : `schemaname IN ${sqlList(expect.schemas)}`;
  return `SELECT schemaname || '.' || tablename AS table, policyname, permissive, roles, cmd, qual AS using, with_check
FROM pg_policies WHERE ${where}
ORDER BY 1, 2;`;
}

function describeClasses(expect: VerifyExpectations, table: string): string {
  const classes = expect.tables.find((t) => t.qualifiedName === table)?.dataClasses ?? [];
  return classes.length ? ` (holds ${classes.join(", ")} data)` : "";
}

export const rlsEnabled = defineCheck({
  id: "rls.enabled",
  group: "rls-enabled-forced",
  title: "Row level security is enabled on every table",
  severity: "critical",
  fix: "ALTER TABLE <table> ENABLE ROW LEVEL SECURITY in a migration (and FORCE it); until then the application role sees every clinic's rows.",
  reads: ["tables"],
  run({ catalog, expectations }) {
    const tables = section(catalog, "tables");
    const off = tables.filter((t) => !t.rlsEnabled);
    const sql = `SELECT c.oid::regclass AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${schemaFilter(expectations)} AND NOT c.relrowsecurity;`;
    return unlessMissing(
      catalog,
      declaredTables(expectations),
      off.length === 0
        ? pass(`RLS is enabled on all ${tables.length} tables of ${expectations.schemas.join(", ")}.`, sql)
        : fail(
            `RLS is disabled on ${plural(off.length, "table")}: ${listSome(off.map((t) => `${t.name}${describeClasses(expectations, t.name)}`))}.`,
            off.map((t) => t.name),
            sql,
          ),
    );
  },
});

export const rlsForced = defineCheck({
  id: "rls.forced",
  group: "rls-enabled-forced",
  title: "Row level security is forced on every table (the owner is not exempt)",
  severity: "critical",
  fix: "ALTER TABLE <table> FORCE ROW LEVEL SECURITY in a migration; drizzle cannot express it, so add it by hand.",
  reads: ["tables"],
  run({ catalog, expectations }) {
    const tables = section(catalog, "tables");
    const off = tables.filter((t) => !t.rlsForced);
    const sql = `SELECT c.oid::regclass AS table, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${schemaFilter(expectations)} AND NOT c.relforcerowsecurity;`;
    return unlessMissing(
      catalog,
      declaredTables(expectations),
      off.length === 0
        ? pass(`RLS is forced on all ${tables.length} tables of ${expectations.schemas.join(", ")}.`, sql)
        : fail(
            `RLS is not forced on ${plural(off.length, "table")}: their owner bypasses the policies: ${listSome(off.map((t) => `${t.name} (owner ${t.owner})`))}.`,
            off.map((t) => t.name),
            sql,
            off.map((t) => ({ table: t.name, owner: t.owner })),
          ),
    );
  },
});

export const contextFunction = defineCheck({
  id: "policies.context-function",
  group: "tenant-policies",
  title: "set_clinic_context(clinic, user, role) exists and the application role may call it",
  severity: "high",
  fix: "Apply migration 0007 (it creates set_clinic_context and grants EXECUTE on it to app_user).",
  reads: ["routines"],
  run({ catalog, expectations }) {
    const want = expectations.contextFunction;
    const name = `${want.schema}.${want.name}(${want.identityArguments})`;
    const fn = section(catalog, "routines").functions.find(
      (f) => f.schema === want.schema && f.name === want.name && f.identityArguments === want.identityArguments,
    );
    const sql = `SELECT p.oid::regprocedure AS function, has_function_privilege('${expectations.appRole}', p.oid, 'EXECUTE') AS app_can_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '${want.schema}' AND p.proname = '${want.name}';`;
    if (!fn) return fail(`${name} does not exist: the application cannot set a clinic context.`, [`function ${name}`], sql);
    if (fn.appCanExecute !== true) {
      return fail(`${expectations.appRole} may not execute ${name}.`, [`function ${name}`], sql);
    }
    return pass(`${name} exists and ${expectations.appRole} may execute it.`, sql);
  },
});

const ALL_COMMANDS: PolicyCommand[] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

export const policyCoverage = defineCheck({
  id: "policies.coverage",
  group: "tenant-policies",
  title: "Every tenant table has SELECT, INSERT, UPDATE and DELETE policies for the application (append-only: SELECT and INSERT)",
  severity: "high",
  fix: "Declare the missing policies in db/schema (tenantPolicies / appendOnlyPolicies) and generate the migration.",
  reads: ["tables", "policies", "roles"],
  async run({ catalog, expectations }) {
    const analysis = await analysePolicies(catalog, expectations);
    const covered = new Map<number, Set<PolicyCommand>>();
    for (const g of analysis.groups) {
      if (!g.applies || !g.permissive) continue;
      for (const m of g.members) {
        const set = covered.get(m.tableOid) ?? new Set<PolicyCommand>();
        for (const c of g.command === "ALL" ? ALL_COMMANDS : [g.command]) set.add(c);
        covered.set(m.tableOid, set);
      }
    }
    const rows: { table: string; missing: PolicyCommand[] }[] = [];
    let tenantCount = 0;
    for (const t of analysis.tables.values()) {
      if (!t.tenantKey) continue;
      tenantCount++;
      const required: PolicyCommand[] = expectations.appendOnlyTables.includes(t.name) ? ["SELECT", "INSERT"] : ALL_COMMANDS;
      const have = covered.get(t.oid) ?? new Set();
      const missing = required.filter((c) => !have.has(c));
      if (missing.length) rows.push({ table: t.name, missing });
    }
    rows.sort((a, b) => (a.table < b.table ? -1 : 1));
    const sql = `SELECT c.oid::regclass AS table, array_agg(DISTINCT p.cmd) FILTER (WHERE p.permissive = 'PERMISSIVE') AS permissive_commands
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_policies p ON p.schemaname = n.nspname AND p.tablename = c.relname
WHERE ${schemaFilter(expectations)}
GROUP BY 1 ORDER BY 1;`;
    return unlessMissing(
      catalog,
      tenantTables(expectations),
      rows.length === 0
        ? passOver(tenantCount, `All ${tenantCount} tenant tables have permissive policies for the commands they need.`, "there are no tenant tables.", sql)
        : fail(
            `${plural(rows.length, "tenant table")} lack policies: ${listSome(rows.map((r) => `${r.table} (no ${r.missing.join(", ")})`))}.`,
            rows.map((r) => r.table),
            sql,
            rows,
          ),
    );
  },
});

interface PolicyFinding extends Record<string, unknown> {
  policy: string;
  table: string;
  command: PolicyCommand;
  expression: string | null;
  problem: string;
}

function findings(analysis: PolicyAnalysis, test: (g: AnalysedGroup) => string | null): PolicyFinding[] {
  const out: PolicyFinding[] = [];
  for (const g of analysis.groups) {
    if (!g.applies || !g.permissive || !g.tenantKey) continue;
    const problem = test(g);
    if (!problem) continue;
    for (const m of g.members) {
      const table = tableName(analysis, m.tableOid);
      out.push({ policy: m.policy, table, command: g.command, expression: g.command === "INSERT" ? g.withCheck : g.using, problem });
    }
  }
  return out.sort((a, b) => (a.table === b.table ? (a.policy < b.policy ? -1 : 1) : a.table < b.table ? -1 : 1));
}

export const policyUsing = defineCheck({
  id: "policies.using",
  group: "tenant-policies",
  title: "Tenant policies only let a clinic read, update or delete its own rows (USING is the tenant predicate)",
  severity: "critical",
  fix: "Replace the policy's USING with the tenant predicate (clinic_id = NULLIF(current_setting('app.current_clinic_id', true), '')::uuid), or drop the policy.",
  reads: ["tables", "policies", "roles"],
  async run({ catalog, expectations }) {
    const analysis = await analysePolicies(catalog, expectations);
    const rows = findings(analysis, (g) =>
      g.using !== null && g.usingKind === "other" ? `USING is not the tenant predicate on ${g.tenantKey}: ${g.using}` : null,
    );
    const checked = analysis.groups.filter((g) => g.applies && g.permissive && g.tenantKey && g.using !== null).reduce((n, g) => n + g.members.length, 0);
    const sql = policiesSql(expectations, rows.map((r) => r.table));
    return unlessMissing(
      catalog,
      tenantTables(expectations),
      rows.length === 0
        ? passOver(checked, `All ${checked} permissive USING expressions on tenant tables are the tenant predicate (or deny).`, "no tenant table has a permissive policy with a USING expression.", sql)
        : fail(
            `${plural(rows.length, "policy", "policies")} let a clinic reach other clinics' rows: ${listSome(rows.map((r) => `${r.policy} on ${r.table} USING (${r.expression})`))}.`,
            rows.map((r) => policyObject(r.policy, r.table)),
            sql,
            rows,
          ),
    );
  },
});

export const policyWithCheck = defineCheck({
  id: "policies.with-check",
  group: "tenant-policies",
  title: "Tenant INSERT and UPDATE policies pin clinic_id with WITH CHECK (no row written to, or moved to, another clinic)",
  severity: "critical",
  fix: "Give the policy WITH CHECK (the tenant predicate); without an explicit one a write policy's new rows are not pinned to the clinic as db/schema requires.",
  reads: ["tables", "policies", "roles"],
  async run({ catalog, expectations }) {
    const analysis = await analysePolicies(catalog, expectations);
    const rows = findings(analysis, (g) => {
      if (g.command !== "INSERT" && g.command !== "UPDATE" && g.command !== "ALL") return null;
      if (g.usingKind === "deny") return null;
      if (g.withCheck === null) return "no WITH CHECK";
      return g.withCheckKind === "other" ? `WITH CHECK is not the tenant predicate on ${g.tenantKey}: ${g.withCheck}` : null;
    });
    for (const r of rows) r.expression = r.problem === "no WITH CHECK" ? null : r.expression;
    const checked = analysis.groups
      .filter((g) => g.applies && g.permissive && g.tenantKey && ["INSERT", "UPDATE", "ALL"].includes(g.command))
      .reduce((n, g) => n + g.members.length, 0);
    const sql = policiesSql(expectations, rows.map((r) => r.table));
    return unlessMissing(
      catalog,
      tenantTables(expectations),
      rows.length === 0
        ? passOver(checked, `All ${checked} permissive INSERT/UPDATE/ALL policies on tenant tables have the tenant predicate as WITH CHECK.`, "no tenant table has a permissive INSERT, UPDATE or ALL policy.", sql)
        : fail(
            `${plural(rows.length, "write policy", "write policies")} do not pin the clinic: ${listSome(rows.map((r) => `${r.policy} on ${r.table} (${r.problem})`))}.`,
            rows.map((r) => policyObject(r.policy, r.table)),
            sql,
            rows,
          ),
    );
  },
});

export const appendOnly = defineCheck({
  id: "append-only.no-update-delete",
  group: "append-only",
  title: "Audit logs and consent records are append-only: no UPDATE or DELETE policy (but a denying one) and no UPDATE, DELETE or TRUNCATE privilege",
  severity: "critical",
  fix: "Drop the UPDATE/DELETE/ALL policy and REVOKE UPDATE, DELETE, TRUNCATE from the application role; a correction is a new row.",
  reads: ["tables", "policies", "roles"],
  async run({ catalog, expectations }) {
    const analysis = await analysePolicies(catalog, expectations);
    const appendOnlyTables = new Set(expectations.appendOnlyTables);
    const rows: Record<string, unknown>[] = [];
    const objects: string[] = [];
    for (const g of analysis.groups) {
      if (!g.applies || !g.permissive || !["UPDATE", "DELETE", "ALL"].includes(g.command) || g.usingKind === "deny") continue;
      for (const m of g.members) {
        const table = tableName(analysis, m.tableOid);
        if (!appendOnlyTables.has(table)) continue;
        rows.push({ policy: m.policy, table, command: g.command, using: g.using });
        objects.push(policyObject(m.policy, table));
      }
    }
    for (const p of section(catalog, "roles").appendOnlyPrivileges) {
      rows.push({ privilege: p.privilege, table: p.table, role: p.role });
      objects.push(`privilege ${p.privilege} on ${p.table} to ${p.role}`);
    }
    const sql = `${policiesSql(expectations, [...appendOnlyTables])}

SELECT t AS table, p AS privilege, has_table_privilege('${expectations.appRole}', t, p) AS granted
FROM unnest(${sqlArray([...appendOnlyTables])}) t, unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) p;`;
    return unlessMissing(
      catalog,
      expectations.appendOnlyTables,
      rows.length === 0
        ? pass(`${[...appendOnlyTables].join(" and ")} accept no UPDATE or DELETE from the application.`, sql)
        : fail(`${plural(rows.length, "way")} to change append-only rows: ${listSome(objects)}.`, objects, sql, rows),
    );
  },
});

export { analysePolicies };
