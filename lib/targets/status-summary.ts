/**
 * The one writer of `environment_status`: what every verification run (schedule, after an apply, on
 * demand, CLI) learned about its environment, so the Overview and the environment lists read one
 * row per environment instead of connecting to every target per request. Drift seen for the first
 * time is audited and notified here, and so is a verification that turned red.
 */
import { eq } from "drizzle-orm";
import { appendAuditEvent, type AuditActor } from "../audit/log";
import type { LedgerStatus } from "../ledger";
import { notify } from "../notifications";
import { describeDriftObject } from "../plan/drift";
import type { StoreTx } from "../store/db";
import { environmentStatus, type DriftSummary, type EnvironmentRow, type VerificationSnapshot } from "../store/schema";

export interface ObservedState {
  ledger: LedgerStatus | null;
  /** Why the target could not be read, when so. */
  error: string | null;
  snapshot: VerificationSnapshot;
  failingGroups: string[];
  drift: DriftSummary | null;
  serverVersion: string | null;
}

const RED = new Set(["failed", "error"]);
const objectKey = (o: { object: string; change: string; fields: string[] }) => `${o.object}|${o.change}|${o.fields.join(",")}`;

export async function recordEnvironmentStatus(tx: StoreTx, env: Pick<EnvironmentRow, "id" | "name" | "label">, observed: ObservedState, actor: AuditActor): Promise<void> {
  const [previous] = await tx.select().from(environmentStatus).where(eq(environmentStatus.environmentId, env.id)).for("update");
  const { ledger, snapshot, drift } = observed;
  const known = new Set((previous?.drift?.objects ?? []).map(objectKey));
  // An unchecked run (no shadow server, rebuild failed) keeps what the last checked run knew.
  const effectiveDrift = drift && drift.drifted !== null ? drift : (previous?.drift ?? drift);
  const newlyDrifted = drift?.drifted ? drift.objects.filter((o) => !known.has(objectKey(o))) : [];
  const driftSince = effectiveDrift?.drifted ? (previous?.driftSince ?? new Date()) : null;

  const values = {
    environmentId: env.id,
    currentVersion: ledger ? ledger.current : (previous?.currentVersion ?? null),
    pendingCount: ledger ? ledger.pending.length : (previous?.pendingCount ?? null),
    pending: ledger ? ledger.pending : (previous?.pending ?? []),
    ledgerProblems: ledger ? ledger.problems.checksumMismatch.length + ledger.problems.outOfOrder.length + ledger.problems.unknown : (previous?.ledgerProblems ?? 0),
    reachable: observed.error === null,
    serverVersion: observed.serverVersion ?? previous?.serverVersion ?? null,
    error: observed.error,
    verificationId: snapshot.id,
    verificationOutcome: snapshot.outcome,
    verificationAt: snapshot.createdAt,
    failingGroups: observed.failingGroups,
    drift: effectiveDrift,
    driftSince,
    updatedAt: new Date(),
  };
  await tx.insert(environmentStatus).values(values).onConflictDoUpdate({ target: environmentStatus.environmentId, set: values });

  if (newlyDrifted.length > 0) {
    await appendAuditEvent(tx, actor, {
      action: "drift.detected",
      subjectType: "environment",
      subjectId: env.name,
      details: { snapshotId: snapshot.id, objects: newlyDrifted, targetVersion: snapshot.targetVersion },
    });
    await notify(tx, {
      type: "drift_found",
      environment: env.name,
      summary: `${env.label} differs from what its migrations imply: ${newlyDrifted.slice(0, 5).map(describeDriftObject).join("; ")}${newlyDrifted.length > 5 ? ` and ${newlyDrifted.length - 5} more` : ""}.`,
      details: { objects: newlyDrifted.map((o) => o.object), snapshotId: snapshot.id },
    });
  } else if (previous?.drift?.drifted && effectiveDrift && effectiveDrift.drifted === false) {
    await appendAuditEvent(tx, actor, { action: "drift.resolved", subjectType: "environment", subjectId: env.name, details: { snapshotId: snapshot.id } });
  }

  if (RED.has(snapshot.outcome) && !RED.has(previous?.verificationOutcome ?? "passed")) {
    await notify(tx, {
      type: "verification_red",
      environment: env.name,
      summary: `Verification of ${env.label} ${snapshot.outcome === "failed" ? `failed (${snapshot.failed} ${snapshot.failed === 1 ? "check" : "checks"})` : "could not run"}${observed.failingGroups.length ? `: ${observed.failingGroups.join(", ")}` : ""}.`,
      details: { outcome: snapshot.outcome, failingGroups: observed.failingGroups, snapshotId: snapshot.id, trigger: snapshot.trigger },
    });
  }
}
