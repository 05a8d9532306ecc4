/**
 * The deployment lifecycle's notifications, worded once: who has to act on a deployment now under
 * review, and how a run ended. lib/deployments/lifecycle calls these inside its transitions'
 * transactions, so a notification exists exactly when its state change committed.
 */
import { eq } from "drizzle-orm";
import type { ApprovalProgress } from "../gates/rules";
import { plural } from "../format";
import type { StoreExecutor } from "../store/db";
import { environments, type Deployment } from "../store/schema";
import { notify } from "./index";

const what = (d: Pick<Deployment, "number" | "kind" | "plan">) => `#${d.number} (${d.kind} ${d.plan.from ?? "empty"} → ${d.plan.to ?? "empty"})`;

/** Approval and sign-off still missing on a deployment under review (nothing when it cannot run anyway). */
export async function notifyReviewNeeded(
  tx: StoreExecutor,
  d: Pick<Deployment, "id" | "number" | "kind" | "plan" | "state">,
  env: { name: string; label: string },
  progress: ApprovalProgress,
  author: { name: string; email: string },
): Promise<void> {
  if (d.state !== "awaiting_approval" || d.plan.blockers.length > 0 || !d.plan.rehearsal.ok) return;
  const base = { environment: env.name, deployment: { id: d.id, number: d.number } };
  const opened = `Deployment ${what(d)} on ${env.label}, opened by ${author.name} <${author.email}>,`;
  const missing = progress.releaseApprovals.need - progress.releaseApprovals.have;
  if (missing > 0) await notify(tx, { ...base, type: "approval_needed", summary: `${opened} needs ${plural(missing, "more release-manager approval", "more release-manager approvals")}.` });
  if (progress.compliance.required && !progress.compliance.given) {
    await notify(tx, { ...base, type: "signoff_needed", summary: `${opened} touches personal or health data, RLS or policies and needs a compliance officer's sign-off.` });
  }
}

/** A run that succeeded or failed, with the first line of why it failed. */
export async function notifyRunFinished(tx: StoreExecutor, d: Pick<Deployment, "id" | "number" | "kind" | "plan" | "environmentId">, outcome: "succeeded" | "failed", error?: string): Promise<void> {
  const [env] = await tx.select({ name: environments.name, label: environments.label }).from(environments).where(eq(environments.id, d.environmentId));
  const name = env?.name ?? "unknown";
  const label = env?.label ?? name;
  await notify(tx, {
    type: outcome === "succeeded" ? "deployment_succeeded" : "deployment_failed",
    environment: name,
    deployment: { id: d.id, number: d.number },
    summary:
      outcome === "succeeded"
        ? `Deployment ${what(d)} ${d.kind === "apply" ? "applied" : "rolled back"} ${label} (${plural(d.plan.migrations.length, "migration")}).`
        : `Deployment ${what(d)} failed on ${label}: ${(error ?? "see its log").split("\n")[0]}`,
    details: { kind: d.kind, from: d.plan.from, to: d.plan.to, migrations: d.plan.migrations.map((m) => m.tag) },
  });
}
