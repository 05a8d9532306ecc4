/**
 * How a plan is reported on the command line and what it means for the exit code, for `plan --env`
 * (through the console) and `plan --database-url` (an ad-hoc target, no console store): text for
 * people, JSON for scripts, GitHub Actions annotations for pull requests.
 */
import { describeDestroyed } from "../lib/executor/destroys";
import path from "node:path";
import type { Catalog } from "../lib/migrations";
import { complianceReasons } from "../lib/plan/compliance";
import { computePlan, type Plan } from "../lib/plan/plan";
import type { Severity } from "../lib/lint";
import type { Output } from "./deployments";
import { plural } from "../lib/format";

export const PLAN_FORMATS = ["text", "json", "github"] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];
export const FAIL_ON = ["error", "warning", "never"] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface PlanOptions {
  to: string | null;
  rollback: boolean;
  failOn: FailOn;
  format: PlanFormat;
  catalog: Catalog;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** Why the plan fails the command (exit 1); empty when it passes. */
export function planVerdict(plan: Plan, failOn: FailOn): string[] {
  const reasons = plan.blockers.map((b) => `blocked: ${b}`);
  if (!plan.rehearsal.ok && plan.blockers.length === 0) reasons.push(`rehearsal failed: ${plan.rehearsal.error}`);
  if (failOn !== "never") {
    const all = [...plan.findings, ...plan.drift.findings];
    const reached = all.filter((f) => RANK[f.severity] >= RANK[failOn]);
    if (reached.length > 0) reasons.push(`${reached.length} finding(s) at ${failOn} or above (--fail-on ${failOn})`);
  }
  return reasons;
}

export function planSummary(plan: Plan): string {
  const count = (s: string) => plan.findings.filter((f) => f.severity === s).length;
  const clusterWide = plan.migrations.flatMap((m) => m.statements.filter((s) => s.clusterWide).map((s) => `${m.tag}:${s.line} ${s.summary} (changes ${s.clusterWide})`));
  const lines = [
    `${plan.environment}: ${plan.kind} ${plan.from ?? "(empty)"} -> ${plan.to ?? "(empty)"}, ${plural(plan.migrations.length, "migration")}`,
    ...plan.migrations.map((m) => `  ${m.tag} (${m.statements.length} statements${m.transactional ? "" : ", outside a transaction"})`),
    `findings: ${count("error")} error(s), ${count("warning")} warning(s), ${count("info")} note(s)`,
    ...plan.findings.filter((f) => f.severity !== "info").map((f) => `  ${f.severity} ${f.tag}:${f.line}:${f.column} ${f.message}`),
    ...(clusterWide.length
      ? ["cluster-wide statements (rehearsed only on the shadow cluster; applied, they change every database of the target's cluster):", ...clusterWide.map((c) => `  ${c}`)]
      : []),
    (plan.destroys ?? []).length === 0 ? "destroys: no data" : "destroys (backed up and checked before the migration runs):",
    ...(plan.destroys ?? []).map((d) => `  ${d.tag}: ${describeDestroyed(d)}${d.foundBy === "rehearsal" ? " [rehearsal only: NOT backed up]" : ""}${d.notes.length ? `; ${d.notes.join("; ")}` : ""}`),
    `compliance sign-off: ${plan.requiresComplianceSignoff || complianceReasons(plan).length > 0 ? "required" : "not required"}`,
    ...complianceReasons(plan).map((r) => `  because ${r}`),
    `drift: ${plan.drift.drifted ? plan.drift.explanation : "none"}`,
    ...plan.drift.findings.map((f) => `  ${f.severity} drift: ${f.message}`),
    `rehearsal: ${plan.rehearsal.ok ? `ok in ${plan.rehearsal.durationMs} ms` : `FAILED: ${plan.rehearsal.error}`}`,
    ...plan.blockers.map((b) => `blocked: ${b}`),
    `plan hash: ${plan.hash}`,
  ];
  return lines.join("\n");
}

// GitHub's workflow-command escaping: data escapes % CR LF; properties also : and ,.
const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
const COMMAND: Record<Severity, string> = { error: "error", warning: "warning", info: "notice" };

/** One `::error file=…,line=…::message` line per finding, drift finding, blocker and failed rehearsal. */
export function githubAnnotations(plan: Plan, cwd = process.cwd()): string {
  const file = (f: string) => (path.isAbsolute(f) ? path.relative(cwd, f) : f);
  const line = (command: string, props: Record<string, string | number | undefined>, message: string) => {
    const p = Object.entries(props)
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
      .join(",");
    return `::${command}${p ? ` ${p}` : ""}::${escapeData(message)}`;
  };
  const out = plan.findings.map((f) =>
    line(COMMAND[f.severity], { file: file(f.file), line: f.line, col: f.column, title: f.rule }, `${f.message}${f.requiresComplianceSignoff ? " (needs compliance sign-off)" : ""} ${f.why}`),
  );
  for (const f of plan.drift.findings) out.push(line(COMMAND[f.severity], { title: `drift ${f.rule}` }, `${f.message} ${f.why}`));
  for (const b of plan.blockers) out.push(line("error", { title: "plan blocked" }, b));
  const failed = plan.rehearsal.failed;
  if (!plan.rehearsal.ok && plan.blockers.length === 0) {
    out.push(line("error", { file: failed?.file ? file(failed.file) : undefined, line: failed?.line, col: failed?.column, title: "rehearsal failed" }, plan.rehearsal.error ?? "the rehearsal failed"));
  }
  return out.join("\n");
}

/** Prints the plan in the chosen format and returns the exit code. */
export function reportPlan(out: Output, plan: Plan, options: Pick<PlanOptions, "failOn" | "format">): number {
  const reasons = planVerdict(plan, options.failOn);
  if (options.format === "github") {
    const annotations = githubAnnotations(plan);
    process.stdout.write(`${annotations ? `${annotations}\n` : ""}${planSummary(plan)}\n`);
  } else {
    out.print({ ...plan, verdict: { passes: reasons.length === 0, failOn: options.failOn, reasons } }, `${planSummary(plan)}\n${reasons.length ? reasons.map((r) => `FAILS: ${r}`).join("\n") : "passes"}`);
  }
  return reasons.length > 0 ? 1 : 0;
}

/** `plan --database-url URL`: an ad-hoc target, rehearsed on SHADOW_DATABASE_URL, no console store. */
export async function adHocPlanCommand(out: Output, options: PlanOptions & { label: string; url: string; shadowUrl: string }): Promise<number> {
  const plan = await computePlan(
    { environment: options.label, targetUrl: options.url, catalog: options.catalog, kind: options.rollback ? "rollback" : "apply", to: options.to },
    { adminUrl: options.shadowUrl },
  );
  return reportPlan(out, plan, options);
}
