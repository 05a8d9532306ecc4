/**
 * The worker's side of a deployment: runs in a job, never in an HTTP request. Re-checks the plan
 * against the live target, snapshots the schema, runs the executor with a live event log, records
 * the outcome with its audit event, then verifies the environment.
 */
import postgres from "postgres";
import { and, eq, ne } from "drizzle-orm";
import { appendAuditEvent } from "../audit/log";
import { AppError } from "../errors";
import { applyLockHeld, applyMigrations, ExecutorError, rollbackMigrations, type RunEvent } from "../executor";
import { assertPlanCurrent } from "../deployments/service";
import { targetUrl, type DeploymentDeps } from "../deployments/context";
import { dumpSchema } from "../plan/schema-dump";
import { snapshotSchema } from "../plan/schema-snapshot";
import { deployments, environments, runEvents, runs, users } from "../store/schema";
import { runBackfill } from "./run-backfill";

const WORKER_ACTOR = { id: null, email: "worker" };

export interface AfterApply {
  (deploymentId: string, environment: string): Promise<void>;
}

/**
 * `runBackfillElsewhere` hands a backfill to the backfill queue, so a long backfill does not hold the
 * deployment queue's worker; without it the backfill runs here.
 */
export async function runDeployment(deps: DeploymentDeps, deploymentId: string, worker: string, afterApply?: AfterApply, runBackfillElsewhere?: (deploymentId: string) => Promise<void>): Promise<void> {
  const backfill = () => (runBackfillElsewhere ? runBackfillElsewhere(deploymentId) : runBackfill(deps, deploymentId, worker, { afterApply }));
  const db = deps.store.db;
  const [kind] = await db.select({ kind: deployments.kind, state: deployments.state }).from(deployments).where(eq(deployments.id, deploymentId));
  // A backfill already running is resumed (after a pause or a dead worker), never claimed again.
  if (kind?.kind === "backfill" && kind.state === "running") return backfill();
  // Claim: only a queued deployment starts, once.
  const claimed = await db.transaction(async (tx) => {
    const [d] = await tx.select().from(deployments).where(eq(deployments.id, deploymentId)).for("update");
    if (!d || d.state !== "queued") return null;
    await tx.update(deployments).set({ state: "running", updatedAt: new Date() }).where(eq(deployments.id, deploymentId));
    const [run] = await tx.insert(runs).values({ deploymentId, state: "running", worker }).returning();
    await appendAuditEvent(tx, WORKER_ACTOR, { action: "deployment.started", subjectType: "deployment", subjectId: deploymentId, details: { number: d.number, runId: run!.id, worker } });
    const [env] = await tx.select().from(environments).where(eq(environments.id, d.environmentId));
    const [author] = await tx.select({ email: users.email }).from(users).where(eq(users.id, d.createdBy));
    return { deployment: d, run: run!, environment: env!.name, author: author!.email };
  });
  if (!claimed) return;
  const { deployment, run, environment } = claimed;
  if (deployment.kind === "backfill") return backfill();

  const record = async (event: RunEvent & { at: Date }) => {
    const { type, at, ...payload } = event;
    await db.insert(runEvents).values({ runId: run.id, at, type, payload });
  };

  try {
    await assertPlanCurrent(deps, deployment, environment);
    const env = deps.registry.byName(environment)!;
    const url = targetUrl(env);
    const [catalog, dump] = await Promise.all([snapshotOf(url), dumpSchema(url)]);
    await db.update(deployments).set({ schemaBefore: { catalog, dump } }).where(eq(deployments.id, deploymentId));

    const common = { url, catalog: await deps.catalog(), actor: `deployment #${deployment.number} (${claimed.author})`, runId: run.id, onEvent: record };
    if (deployment.kind === "apply") await applyMigrations({ ...common, to: deployment.targetTag });
    else await rollbackMigrations({ ...common, to: deployment.targetTag });

    await db.transaction(async (tx) => {
      await tx.update(deployments).set({ state: "succeeded", updatedAt: new Date() }).where(eq(deployments.id, deploymentId));
      await tx.update(runs).set({ state: "succeeded", finishedAt: new Date() }).where(eq(runs.id, run.id));
      await appendAuditEvent(tx, WORKER_ACTOR, {
        action: deployment.kind === "apply" ? "deployment.applied" : "deployment.rolled_back",
        subjectType: "deployment",
        subjectId: deploymentId,
        details: { number: deployment.number, runId: run.id, planHash: deployment.planHash, migrations: deployment.plan.migrations.map((m) => m.tag) },
      });
    });
  } catch (e) {
    const error =
      e instanceof ExecutorError
        ? e.toJSON()
        : e instanceof AppError
          ? { code: e.code, message: e.message }
          : { code: "internal", message: (e as Error).message?.replace(/postgres(ql)?:\/\/\S+/g, "(url)") ?? String(e) };
    if (!(e instanceof ExecutorError)) await record({ type: "run_failed", runId: run.id, error: error as never, at: new Date() });
    await db.transaction(async (tx) => {
      await tx.update(deployments).set({ state: "failed", updatedAt: new Date() }).where(eq(deployments.id, deploymentId));
      await tx.update(runs).set({ state: "failed", finishedAt: new Date(), error }).where(eq(runs.id, run.id));
      await appendAuditEvent(tx, WORKER_ACTOR, { action: "deployment.failed", subjectType: "deployment", subjectId: deploymentId, details: { number: deployment.number, runId: run.id, error } });
    });
    return;
  }
  if (afterApply) await afterApply(deploymentId, environment);
}

async function snapshotOf(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await snapshotSchema(sql);
  } finally {
    await sql.end({ timeout: 5 });
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
  const db = deps.store.db;
  const running = await db
    .select({ deployment: deployments, run: runs, environment: environments.name })
    .from(deployments)
    .innerJoin(runs, eq(runs.deploymentId, deployments.id))
    .innerJoin(environments, eq(environments.id, deployments.environmentId))
    // Backfills are resumed, not failed, when their worker dies (lib/jobs/run-backfill).
    .where(and(eq(deployments.state, "running"), eq(runs.state, "running"), ne(deployments.kind, "backfill")));
  let reaped = 0;
  for (const { deployment, run, environment } of running) {
    if (Date.now() - run.startedAt.getTime() < ABANDONED_AFTER_MS) continue;
    const env = deps.registry.byName(environment);
    if (!env?.url || (await applyLockHeld(env.url).catch(() => true))) continue;
    const error = {
      code: "worker_lost",
      message: `The worker running this deployment (${run.worker ?? "unknown"}) stopped mid-run. Nothing half-applied is recorded as applied: check the environment's status, then open a new deployment for what is still pending.`,
    };
    await db.transaction(async (tx) => {
      const [current] = await tx.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, deployment.id)).for("update");
      if (current?.state !== "running") return;
      await tx.update(deployments).set({ state: "failed", updatedAt: new Date() }).where(eq(deployments.id, deployment.id));
      await tx.update(runs).set({ state: "failed", finishedAt: new Date(), error }).where(eq(runs.id, run.id));
      await tx.insert(runEvents).values({ runId: run.id, at: new Date(), type: "run_failed", payload: { runId: run.id, error } });
      await appendAuditEvent(tx, WORKER_ACTOR, { action: "deployment.failed", subjectType: "deployment", subjectId: deployment.id, details: { number: deployment.number, runId: run.id, error } });
      reaped++;
    });
  }
  return reaped;
}
