/**
 * Why a plan needs the compliance officer: the findings of its statements and of its rehearsal's schema
 * diff, and the drift of the live schema judged by the same rule as a rehearsal (judgeSchemaDiff with
 * origin "drift": someone dropped a tagged column by hand, disabled RLS, loosened a policy, granted beyond
 * the application's role). Read by the plan, the gates, the CLI and the pages.
 */
import { judgeSchemaDiff, type DiffFinding } from "../lint/diff-rules";
import type { Finding } from "../lint";
import type { SchemaDiff } from "./diff";

/** A plan's drift: the diff from what the migrations imply to the live schema, judged when planned. */
export interface JudgedDrift {
  diff: SchemaDiff | null;
  /** Absent on plans stored before drift was judged: the diff is judged again. */
  findings?: DiffFinding[];
}

/** Drift judged as a change: `expectedGrantees` may hold privileges besides the application role (the target's user). */
export function judgeDrift(diff: SchemaDiff | null | undefined, expectedGrantees: readonly string[] = []): DiffFinding[] {
  return judgeSchemaDiff(diff ?? null, { origin: "drift", expectedGrantees });
}

function driftFindings(drift: JudgedDrift | null | undefined): DiffFinding[] {
  if (!drift) return [];
  return drift.findings ?? judgeDrift(drift.diff);
}

/** One reason per drift finding that compliance must look at, in words. */
export function driftComplianceReasons(drift: JudgedDrift | null | undefined): string[] {
  return driftFindings(drift)
    .filter((f) => f.requiresComplianceSignoff)
    .map((f) => `Drift: ${f.message}`);
}

export function driftRequiresComplianceSignoff(drift: JudgedDrift | null | undefined): boolean {
  return driftFindings(drift).some((f) => f.requiresComplianceSignoff);
}

/** Every reason the compliance officer must sign off: the plan's findings, then the drift. */
export function complianceReasons(plan: { findings: Finding[]; drift: JudgedDrift }): string[] {
  const fromFindings = plan.findings.filter((f) => f.requiresComplianceSignoff).map((f) => `${f.tag} statement ${f.statement}: ${f.message}`);
  return [...new Set([...fromFindings, ...driftComplianceReasons(plan.drift)])];
}
