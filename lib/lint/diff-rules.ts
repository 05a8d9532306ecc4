/**
 * Compliance judged from what a change does to the catalog, not from how its SQL is spelled: the schema
 * diff of a rehearsal (before → after) or of drift (what the migrations imply → what the target has).
 * `DROP SCHEMA audit CASCADE`, `DROP TABLE … CASCADE`, a rename or a type change through a domain all
 * show here as the tagged objects they remove or change, whatever statement did it.
 *
 * One judgement for a rehearsal and for drift alike (lib/plan/compliance.ts judges drift through it), so
 * the same change needs the compliance officer however it reached the target: `judgeSchemaDiff`.
 */
import { classesOfTable, classificationOf, DATA_CLASS_TAGS, type DataClass } from "../../db/schema/classification";
import { APP_ROLE, CONTEXT_SETTINGS } from "../../db/schema/rls";
import { TARGET_SCHEMAS } from "../../db/schema/schemas";
import type { SchemaChange, SchemaDiff } from "../plan/diff";
import type { ColumnEntry, FunctionEntry, PolicyEntry, PrivilegeEntry, TableEntry } from "../introspect/schema-snapshot";
import { mergeTouches } from "./touches";
import type { FindingTouches, RuleInfo, Severity } from "./types";

export interface DiffFinding {
  /** `console/diff-…`, a key of DIFF_RULES. */
  rule: string;
  severity: Severity;
  /** The object, as the diff keys it (e.g. `audit/audit_logs`, `public/patients/cpf`). */
  object: string;
  message: string;
  why: string;
  touches: FindingTouches;
  requiresComplianceSignoff: boolean;
}

export interface DiffJudgementOptions {
  /** "rehearsal": the pending migrations do it; "drift": someone did it to the target outside the console. */
  origin: "rehearsal" | "drift";
  /** Roles a privilege may be granted to without a finding besides the application role (e.g. the objects' owners). */
  expectedGrantees?: readonly string[];
}

const info = (r: Omit<RuleInfo, "source">): RuleInfo => ({ source: "console", ...r });

export const DIFF_RULES = {
  taggedTableRemoved: info({
    id: "console/diff-tagged-table-removed",
    severity: "error",
    title: "A table holding regulated data disappears",
    why: "Its rows are destroyed (or, renamed, every reader and the classification lose it); archive what must be kept and have the compliance officer sign off.",
  }),
  taggedColumnRemoved: info({
    id: "console/diff-tagged-column-removed",
    severity: "error",
    title: "A column holding regulated data disappears",
    why: "Its values are destroyed (or, renamed, masking, verification and readers lose it); archive or anonymise first and have the compliance officer sign off.",
  }),
  taggedColumnRetyped: info({
    id: "console/diff-tagged-column-retyped",
    severity: "warning",
    title: "A column holding regulated data changes type",
    why: "Every value is converted, which can truncate or mis-convert regulated data; verify the conversion and have the compliance officer sign off.",
  }),
  rlsOff: info({
    id: "console/diff-rls-off",
    severity: "error",
    title: "Row level security or FORCE turned off",
    why: "Without RLS (or without FORCE for the owner) the table's rows are readable across clinics; keep RLS enabled and forced on every table of the target schemas.",
  }),
  policyRemoved: info({
    id: "console/diff-policy-removed",
    severity: "warning",
    title: "A row level security policy disappears",
    why: "Removing a permissive policy denies what it allowed; removing a restrictive one lifts its limit: tenant isolation changes either way.",
  }),
  policyLoosened: info({
    id: "console/diff-policy-loosened",
    severity: "error",
    title: "A row level security policy admits more",
    why: `The policy no longer requires the clinic predicate (current_setting('${CONTEXT_SETTINGS.clinicId}')), became permissive, or applies to more roles: rows of other clinics may become visible.`,
  }),
  policyChanged: info({
    id: "console/diff-policy-changed",
    severity: "warning",
    title: "A row level security policy changes",
    why: "Tenant isolation depends on every policy: the compliance officer signs off each change, even one that looks equivalent.",
  }),
  privilegeBeyondApp: info({
    id: "console/diff-privilege-beyond-app-role",
    severity: "error",
    title: "A privilege granted beyond the application's role",
    why: `Only ${APP_ROLE} (and the objects' owner) should hold privileges on the target schemas; any other role or PUBLIC reaches the data outside the application's row level security context.`,
  }),
} as const satisfies Record<string, RuleInfo>;

const TARGET = new Set<string>(TARGET_SCHEMAS);
const tag = (c: DataClass) => `[${DATA_CLASS_TAGS[c]}] ${c}`;
const rel = (schema: string, name: string) => `${schema}.${name}`;

/** Every finding the diff warrants, each requiring the compliance officer's sign-off. */
export function judgeSchemaDiff(diff: SchemaDiff | null, options: DiffJudgementOptions): DiffFinding[] {
  if (!diff) return [];
  const out: DiffFinding[] = [];
  const done = options.origin === "drift" ? "on the target, outside the console" : "by this plan";
  const push = (r: RuleInfo, object: string, message: string, touches: Partial<FindingTouches>) =>
    out.push({ rule: r.id, severity: r.severity, object, message, why: r.why, touches: mergeTouches(touches), requiresComplianceSignoff: true });

  const of = <T>(section: SchemaChange["section"], change: SchemaChange["change"]) =>
    diff.changes.filter((c) => c.section === section && c.change === change) as (SchemaChange & { before: T; after: T })[];

  const addedTables = of<TableEntry>("tables", "added").map((c) => c.after);
  const addedColumns = of<ColumnEntry>("columns", "added").map((c) => c.after);
  const columnsOf = (changes: SchemaChange[], schema: string, table: string) =>
    changes.map((c) => (c.before ?? c.after) as unknown as ColumnEntry).filter((c) => c.schema === schema && c.table === table);

  // Tables: gone, or renamed (a new table in the same schema with the same columns and types).
  const removedTables = of<TableEntry>("tables", "removed").map((c) => c.before);
  const removedTableKeys = new Set(removedTables.map((t) => rel(t.schema, t.name)));
  for (const t of removedTables) {
    const classes = classesOfTable(t.schema, t.name);
    if (classes.length === 0) continue;
    const removedCols = columnsOf(of("columns", "removed"), t.schema, t.name);
    const shape = (cols: ColumnEntry[]) => cols.map((c) => `${c.name}:${c.type}`).sort().join(",");
    const renamedTo = addedTables.find((a) => a.schema === t.schema && shape(columnsOf(of("columns", "added"), a.schema, a.name)) === shape(removedCols));
    push(
      DIFF_RULES.taggedTableRemoved,
      `${t.schema}/${t.name}`,
      renamedTo
        ? `${rel(t.schema, t.name)} (holding ${classes.map(tag).join(", ")} data) is renamed to ${rel(renamedTo.schema, renamedTo.name)} ${done}: the classification and its readers lose it.`
        : `${rel(t.schema, t.name)} (holding ${classes.map(tag).join(", ")} data) disappears ${done}, and every row with it.`,
      { classes },
    );
  }

  // Columns of tables that stay: gone or renamed (a new column of the same type in the same place).
  for (const c of of<ColumnEntry>("columns", "removed").map((x) => x.before)) {
    if (removedTableKeys.has(rel(c.schema, c.table))) continue;
    const cls = classificationOf(c.schema, c.table, c.name);
    if (!cls) continue;
    const renamedTo = addedColumns.find((a) => a.schema === c.schema && a.table === c.table && a.type === c.type && a.position === c.position);
    push(
      DIFF_RULES.taggedColumnRemoved,
      `${c.schema}/${c.table}/${c.name}`,
      renamedTo
        ? `${rel(c.schema, c.table)}.${c.name} (tagged ${tag(cls)}) is renamed to ${renamedTo.name} ${done}.`
        : `${rel(c.schema, c.table)}.${c.name} (tagged ${tag(cls)}) disappears ${done}: its values are destroyed.`,
      { classes: [cls] },
    );
  }
  for (const c of of<ColumnEntry>("columns", "changed")) {
    if (!c.fields.includes("type")) continue;
    const cls = classificationOf(c.before.schema, c.before.table, c.before.name);
    if (!cls) continue;
    push(
      DIFF_RULES.taggedColumnRetyped,
      c.key,
      `${rel(c.before.schema, c.before.table)}.${c.before.name} (tagged ${tag(cls)}) changes type from ${c.before.type} to ${c.after.type} ${done}.`,
      { classes: [cls] },
    );
  }

  // Row level security switched off on a table that stays.
  for (const c of of<TableEntry>("tables", "changed")) {
    const lost = [c.before.rlsEnabled && !c.after.rlsEnabled ? "row level security" : null, c.before.rlsForced && !c.after.rlsForced ? "FORCE ROW LEVEL SECURITY" : null].filter(Boolean);
    if (lost.length === 0) continue;
    push(DIFF_RULES.rlsOff, c.key, `${rel(c.before.schema, c.before.name)} loses ${lost.join(" and ")} ${done}.`, { rls: true, classes: classesOfTable(c.before.schema, c.before.name) });
  }

  // Policies removed (the table staying), loosened or changed.
  for (const p of of<PolicyEntry>("policies", "removed").map((x) => x.before)) {
    if (removedTableKeys.has(rel(p.schema, p.table))) continue;
    push(DIFF_RULES.policyRemoved, `${p.schema}/${p.table}/${p.name}`, `Policy ${p.name} on ${rel(p.schema, p.table)} disappears ${done}.`, { policies: true });
  }
  // Policies are OR-ed: a permissive one added to a table that stays admits rows on its own.
  const addedTableKeys = new Set(addedTables.map((t) => rel(t.schema, t.name)));
  for (const p of of<PolicyEntry>("policies", "added").map((x) => x.after)) {
    if (!p.permissive || addedTableKeys.has(rel(p.schema, p.table))) continue;
    const open = [p.using, p.withCheck].some((e) => e !== null && !readsClinic(e));
    push(
      open ? DIFF_RULES.policyLoosened : DIFF_RULES.policyChanged,
      `${p.schema}/${p.table}/${p.name}`,
      `Policy ${p.name} on ${rel(p.schema, p.table)} appears ${done}: a permissive policy admits rows whatever the others require${open ? ", and it does not require the clinic" : ""}.`,
      { policies: true },
    );
  }
  for (const c of of<PolicyEntry>("policies", "changed")) {
    const reasons = loosening(c.before, c.after);
    const r = reasons.length > 0 ? DIFF_RULES.policyLoosened : DIFF_RULES.policyChanged;
    const what = reasons.length > 0 ? reasons.join("; ") : `its ${c.fields.join(", ")} ${c.fields.length === 1 ? "changes" : "change"}`;
    push(r, c.key, `Policy ${c.before.name} on ${rel(c.before.schema, c.before.table)} changes ${done}: ${what}.`, { policies: true });
  }

  // Privileges granted to anyone but the application role and the objects' owners.
  const allowed = new Set([APP_ROLE, ...(options.expectedGrantees ?? [])]);
  const owners = new Map(diff.changes.filter((c) => c.section === "tables").map((c) => {
    const t = (c.after ?? c.before) as unknown as TableEntry;
    return [rel(t.schema, t.name), t.owner] as const;
  }));
  // A new function is executable by PUBLIC by default (PostgreSQL's default ACL), not by a grant.
  const newFunctions = new Set(
    of<FunctionEntry>("functions", "added").map((c) => `${c.after.schema}.${c.after.name}(${c.after.identityArguments})`),
  );
  for (const g of of<PrivilegeEntry>("privileges", "added").map((x) => x.after)) {
    if (!TARGET.has(g.schema) || allowed.has(g.grantee) || owners.get(rel(g.schema, g.name)) === g.grantee) continue;
    if (g.objectType === "function" && g.grantee === "PUBLIC" && g.privilege === "EXECUTE" && newFunctions.has(rel(g.schema, g.name))) continue;
    const classes = g.objectType === "table" ? classesOfTable(g.schema, g.name) : [];
    push(
      DIFF_RULES.privilegeBeyondApp,
      `${g.objectType}/${g.schema}/${g.name}/${g.grantee}/${g.privilege}`,
      `${g.grantee === "PUBLIC" ? "PUBLIC (every role)" : `Role ${g.grantee}`} gains ${g.privilege} on ${g.objectType} ${rel(g.schema, g.name)} ${done}.`,
      { classes, rls: true },
    );
  }
  return out;
}

const readsClinic = (expr: string | null) => Boolean(expr && expr.includes(CONTEXT_SETTINGS.clinicId));

/** Why the new policy can admit rows the old one did not; empty when it cannot be said. */
function loosening(before: PolicyEntry, after: PolicyEntry): string[] {
  const reasons: string[] = [];
  if (!before.permissive && after.permissive) reasons.push("it becomes permissive");
  const gained = after.roles.filter((r) => !before.roles.includes(r));
  if (gained.length > 0) reasons.push(`it now applies to ${gained.join(", ")}`);
  if (before.command !== "ALL" && after.command === "ALL") reasons.push("it now covers every command");
  if (readsClinic(before.using) && !readsClinic(after.using)) reasons.push("USING no longer requires the clinic");
  if (readsClinic(before.withCheck) && !readsClinic(after.withCheck)) reasons.push("WITH CHECK no longer requires the clinic");
  return reasons;
}
