/** `verify`: the compliance checks from the command line; exit 1 when any check fails or cannot run. */
import { AppError } from "../lib/errors";
import { runVerification, type VerificationReport } from "../lib/verify";
import { reportOf, verifyEnvironment } from "../lib/verify/snapshots";
import type { ConsoleSession } from "./console-session";
import type { Output } from "./deployments";
import { connect } from "../lib/connection/connect";

function reportText(label: string, report: VerificationReport): string {
  const lines = [`${label}: ${report.counts.pass} passed, ${report.counts.empty ?? 0} with nothing to check, ${report.counts.warn} warnings, ${report.counts.fail} failed, ${report.counts.error} could not run (${Math.round(report.durationMs)} ms, ${report.queryCount} queries)`];
  for (const r of report.results) {
    if (r.status === "pass") continue;
    if (r.status === "empty") {
      lines.push(`  EMPTY ${r.checkId}: ${r.summary}`);
      continue;
    }
    lines.push(`  ${r.status.toUpperCase().padEnd(5)} ${r.checkId}: ${r.summary}`);
    for (const o of r.evidence.objects.slice(0, 10)) lines.push(`        ${o}`);
  }
  return lines.join("\n");
}

/** Verifies a registry environment and records the snapshot, as the button does. */
export async function verifyEnvironmentCommand(session: ConsoleSession, out: Output, environment: string): Promise<number> {
  const actor = await session.actor().catch(() => null);
  const snapshot = await verifyEnvironment(session.deps, environment, "cli", { actor: actor ? { id: actor.id, email: actor.email } : { id: null, email: "cli" } });
  const stored = reportOf(snapshot);
  if ("unreachable" in stored) throw new AppError("unavailable", stored.unreachable);
  out.print({ environment, snapshotId: snapshot.id, outcome: snapshot.outcome, report: stored.report }, reportText(environment, stored.report));
  return snapshot.outcome === "passed" ? 0 : 1;
}

/** Verifies an ad-hoc database; nothing is recorded. */
export async function verifyTargetCommand(target: { label: string; url: string }, out: Output): Promise<number> {
  const sql = connect(target.url, { max: 3, application: "migration-console verify" });
  try {
    const report = await runVerification(sql);
    out.print({ target: target.label, outcome: report.ok ? "passed" : "failed", report }, reportText(target.label, report));
    return report.ok ? 0 : 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
