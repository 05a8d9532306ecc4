/**
 * Why a plan needs the compliance officer: findings of its statements that touch tagged data, RLS
 * or policies, and drift of the live schema that touches the same (someone disabled RLS by hand,
 * dropped a policy, changed a tagged column). One rule, read by the plan, the gates and the pages.
 */
import { classificationOf, DATA_CLASS_TAGS, isTaggedTable } from "../../db/schema/classification";
import type { SchemaChange, SchemaDiff } from "./diff";
import type { Finding } from "../lint";

/** One reason per drifted object that compliance must look at, in words. */
export function driftComplianceReasons(drift: SchemaDiff | null | undefined): string[] {
  if (!drift) return [];
  const reasons: string[] = [];
  for (const c of drift.changes) {
    const reason = driftReason(c);
    if (reason) reasons.push(reason);
  }
  return reasons;
}

function driftReason(c: SchemaChange): string | null {
  const [schema, table, name] = c.key.split("/");
  const how = c.change === "changed" ? `changed (${c.fields.join(", ")})` : c.change === "added" ? "added by hand" : "missing";
  if (c.section === "policies") return `Drift: policy ${name} on ${schema}.${table} is ${how} on the live target.`;
  if (c.section === "tables" && (c.change !== "changed" || c.fields.some((f) => f === "rlsEnabled" || f === "rlsForced"))) {
    if (c.change === "changed") {
      const off = [c.after?.rlsEnabled === false && c.before?.rlsEnabled ? "disabled" : null, c.after?.rlsForced === false && c.before?.rlsForced ? "no longer forced" : null].filter(Boolean);
      return `Drift: row level security on ${schema}.${table} ${off.length ? `is ${off.join(" and ")}` : "changed"} on the live target.`;
    }
    return isTaggedTable(schema, table!) ? `Drift: table ${schema}.${table}, which holds tagged data, is ${how} on the live target.` : null;
  }
  if (c.section === "columns") {
    const dataClass = classificationOf(schema, table!, name!);
    if (dataClass) return `Drift: ${DATA_CLASS_TAGS[dataClass]} column ${schema}.${table}.${name} is ${how} on the live target.`;
  }
  return null;
}

export function driftRequiresComplianceSignoff(drift: SchemaDiff | null | undefined): boolean {
  return driftComplianceReasons(drift).length > 0;
}

/** Every reason the compliance officer must sign off: the statements' findings, then the drift. */
export function complianceReasons(plan: { findings: Finding[]; drift: { diff: SchemaDiff | null } }): string[] {
  const fromFindings = plan.findings.filter((f) => f.requiresComplianceSignoff).map((f) => `${f.tag} statement ${f.statement}: ${f.message}`);
  return [...new Set([...fromFindings, ...driftComplianceReasons(plan.drift.diff)])];
}
