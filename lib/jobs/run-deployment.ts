/**
 * The worker's side of a deployment: runs in a job, never in an HTTP request. Re-checks the plan
 * against the live target, snapshots the schema, runs the executor with a live event log, records
 * the outcome with its audit event, then verifies the environment.
 */
import { applyLockHeld, applyMigrations, asConnectionError, ExecutorError, rollbackMigrations, type RunEvent } from "../executor";
import { assertPlanCurrent } from "../deployments/service";
import { targetUrl, type DeploymentDeps } from "../deployments/context";
import * as lifecycle from "../deployments/lifecycle";
import { redactedMessage, toErrorPayload } from "../errors";
import { snapshotSchema } from "../introspect/schema-snapshot";
import { deployments, environments } from "../store/schema";
import { eq } from "drizzle-orm";
import { runBackfill } from "./run-backfill";
import { withConnection } from "../connection/connect";
import { afterRun, type AfterApply } from "./after-run";

export type { AfterApply } from "./after-run";

/** What a run's failure records: the same code, message and hint the web and the CLI show. */
export function runError(e: unknown): Record<string, unknown> {
  if (e instanceof ExecutorError) {
    const hint = toErrorPayload(e, () => {}).hint;
    return { ...e.toJSON(), ...(hint ? { hint } : {}) };
  }
  let unexpected = false;
  const payload = toErrorPayload(e, () => {
    unexpected = true;
  });
  // The run log is read by the operators of this console: an unexpected failure keeps its (redacted) text.
  return unexpected ? { code: "internal", message: redactedMessage(e) } : { code: payload.code, message: payload.message, ...(payload.hint ? { hint: payload.hint } : {}), ...(payload.details ?? {}) };
}

/** The executor's actor: who started the run first (the target's history shows it), then the deployment and its author. */
export function runActor(claimed: Pick<lifecycle.ClaimedRun, "deployment" | "author" | "starter">): string {
  const author = claimed.author.email === claimed.starter.email ? "" : `, opened by ${claimed.author.email}`;
  return `${claimed.starter.email} via deployment #${claimed.deployment.number}${author}`;
}

/**
 * `runBackfillElsewhere` hands a backfill to the backfill queue, so a long backfill does not hold the
 * deployment queue's worker; without it the backfill runs here.
 */
export async function runDeployment(deps: DeploymentDeps, deploymentId: string, worker: string, afterApply?: AfterApply, runBackfillElsewhere?: (deploymentId: string) => Promise<void>): Promise<void> {
  const backfill = () => (runBackfillElsewhere ? runBackfillElsewhere(deploymentId) : runBackfill(deps, deploymentId, worker, { afterApply }));
  const [current] = await deps.store.db.select({ kind: deployments.kind, state: deployments.state }).from(deployments).where(eq(deployments.id, deploymentId));
  // A backfill already running is resumed (after a pause or a dead worker), never claimed again.
  if (current?.kind === "backfill" && current.state === "running") return backfill();
  // Claim: only a queued deployment starts, once.
  const claimed = await lifecycle.claimRun(deps.store, deploymentId, worker);
  if (!claimed) return;
  if (claimed.deployment.kind === "backfill") return backfill();
  const { deployment, run } = claimed;
  const [envRow] = await deps.store.db.select({ name: environments.name }).from(environments).where(eq(environments.id, claimed.environmentId));
  const environment = envRow!.name;

  const record = async (event: RunEvent & { at: Date }) => {
    const { type, at, ...payload } = event;
    await lifecycle.recordRunEvent(deps.store, run.id, { type, at, payload }, { environment, deployment: deployment.number });
  };

  try {
    await assertPlanCurrent(deps, deployment, environment);
    const env = deps.registry.byName(environment)!;
    const url = targetUrl(env);
    const catalog = await snapshotOf(url);
    await lifecycle.recordSchemaBefore(deps.store, deploymentId, { catalog });

    const backup = deployment.backupDeclinedReason ? { declined: deployment.backupDeclinedReason } : { retentionDays: env.backupRetentionDays };
    const common = { url, catalog: await deps.catalog(), actor: runActor(claimed), runId: run.id, onEvent: record, directUrlHint: env.directUrlEnv ?? undefined, backup };
    if (deployment.kind === "apply") await applyMigrations({ ...common, to: deployment.targetTag });
    else await rollbackMigrations({ ...common, to: deployment.targetTag });

    await lifecycle.succeedRun(deps.store, claimed);
  } catch (e) {
    // The executor logs its own failure event; anything else gets one here.
    await lifecycle.failRun(deps.store, deploymentId, run.id, runError(e), { logEvent: !(e instanceof ExecutorError) });
    return;
  }
  await afterRun(afterApply, deploymentId, environment);
}

async function snapshotOf(url: string) {
  try {
    return await withConnection(url, { application: "migration-console snapshot" }, snapshotSchema);
  } catch (e) {
    throw asConnectionError(e);
  }
}

/** How long a run may go without holding its target's apply lock before it counts as abandoned. */
const ABANDONED_AFTER_MS = 60_000;

/**
 * A worker killed mid-run leaves its deployment "running" forever, which would block the
 * environment. A run is abandoned when nobody holds its target's apply lock (the executor holds
 * it for the whole run, and PostgreSQL frees it when the worker dies) well after it started.
 */
export async function reapAbandonedRuns(deps: DeploymentDeps): Promise<number> {
  const running = await lifecycle.runningRuns(deps.store.db);
  let reaped = 0;
  for (const { deployment, run } of running) {
    // Backfills are resumed, not failed, when their worker dies (lib/jobs/run-backfill).
    if (deployment.kind === "backfill") continue;
    if (Date.now() - run.startedAt.getTime() < ABANDONED_AFTER_MS) continue;
    const [envRow] = await deps.store.db.select({ name: environments.name }).from(environments).where(eq(environments.id, deployment.environmentId));
    const env = envRow ? deps.registry.byName(envRow.name) : undefined;
    if (!env?.url || (await applyLockHeld(env.url).catch(() => true))) continue;
    const error = {
      code: "worker_lost",
      message: `The worker running this deployment (${run.worker ?? "unknown"}) stopped mid-run. Nothing half-applied is recorded as applied: check the environment's status, then open a new deployment for what is still pending.`,
    };
    if (await lifecycle.failRun(deps.store, deployment.id, run.id, error, { logEvent: true, onlyIfRunning: true })) reaped++;
  }
  return reaped;
}
