/**
 * Deployments: created with a stored plan, reviewed under the gate registry, queued for the worker,
 * rolled back as deployments of their own. Every state change commits with its audit event.
 */
import { and, asc, desc, eq, type SQL } from "drizzle-orm";
import { z } from "zod";
import { appendAuditEvent } from "../audit/log";
import type { Actor } from "../auth/users";
import { AppError, sqlState } from "../errors";
import { approvalProgress, decide, decideAll, type DeploymentAction, type GateContext } from "../gates/rules";
import { computePlan, planBasis, type Plan } from "../plan/plan";
import type { StoreExecutor } from "../store/db";
import { approvals, deployments, DEPLOYMENT_STATES, environments, runEvents, runs, users, type Deployment } from "../store/schema";
import { backfillBasisHash, planBackfillFor } from "../backfills/deployment-plan";
import { promotionCheck } from "./promotion";
import { targetUrl, type DeploymentDeps } from "./context";

export const newDeploymentInput = z.object({
  environment: z.string().min(1),
  kind: z.enum(["apply", "rollback", "backfill"]).default("apply"),
  /** backfill: the name of its file in db/backfills. */
  backfill: z.string().trim().optional(),
  /** apply: up to this tag (empty: the latest). rollback: back to this tag. */
  to: z
    .string()
    .trim()
    .optional()
    .transform((v) => v || null),
});

export const deploymentIdInput = z.object({ id: z.uuid() });
export const approveInput = z.object({ id: z.uuid(), comment: z.string().trim().max(500).optional() });
export const rejectInput = z.object({ id: z.uuid(), reason: z.string().trim().min(3, "Say why the deployment is rejected").max(1000) });

const CREATE_ROLES = ["engineer", "release_manager"] as const;

function environmentOf(deps: DeploymentDeps, name: string) {
  const env = deps.registry.byName(name);
  if (!env) throw new AppError("not_found", `There is no environment "${name}".`);
  return env;
}

async function plan(deps: DeploymentDeps, environment: string, kind: Deployment["kind"], to: string | null, backfill: string | null): Promise<Plan> {
  const env = environmentOf(deps, environment);
  if (kind === "backfill") {
    if (!backfill) throw new AppError("invalid_input", "A backfill deployment needs the backfill to run.", { backfill: ["Choose a backfill"] });
    return planBackfillFor(deps, env, backfill);
  }
  return computePlan({ environment: env.name, targetUrl: targetUrl(env), catalog: await deps.catalog(), kind, to }, deps.shadow);
}

export async function createDeployment(deps: DeploymentDeps, actor: Actor, input: z.infer<typeof newDeploymentInput>): Promise<Deployment> {
  if (!(CREATE_ROLES as readonly string[]).includes(actor.role)) throw new AppError("forbidden", "Only engineers and release managers open deployments.");
  const env = environmentOf(deps, input.environment);
  if (input.kind === "rollback" && !input.to) throw new AppError("invalid_input", "A rollback needs the migration to go back to.", { to: ["Choose a migration"] });
  const planned = await plan(deps, env.name, input.kind, input.to, input.backfill ?? null);
  if (input.kind !== "backfill" && planned.migrations.length === 0 && planned.blockers.length === 0) {
    throw new AppError("conflict", `${env.label} is already at ${planned.from ?? "the requested version"}: there is nothing to deploy.`);
  }
  return deps.store.db.transaction(async (tx) => {
    const [envRow] = await tx.select().from(environments).where(eq(environments.name, env.name));
    if (!envRow) throw new AppError("not_found", `${env.name} is not registered in the store yet; restart the console.`);
    const progress = approvalProgress({ approvals: [], deployment: { planHash: planned.hash, requiresComplianceSignoff: planned.requiresComplianceSignoff }, environment: env });
    const [row] = await tx
      .insert(deployments)
      .values({
        environmentId: envRow.id,
        kind: input.kind,
        targetTag: input.kind === "backfill" ? null : planned.to,
        backfillName: planned.backfill?.name ?? null,
        state: progress.complete && planned.blockers.length === 0 && planned.rehearsal.ok ? "approved" : "awaiting_approval",
        createdBy: actor.id,
        plan: planned,
        planHash: planned.hash,
      })
      .returning();
    await appendAuditEvent(tx, actor, {
      action: "deployment.created",
      subjectType: "deployment",
      subjectId: row!.id,
      details: { number: row!.number, environment: env.name, kind: input.kind, ...(planned.backfill ? { backfill: planned.backfill.name, checksum: planned.backfill.checksum } : {}), from: planned.from, to: planned.to, planHash: planned.hash, migrations: planned.migrations.map((m) => m.tag), findings: planned.findings.length },
    });
    return row!;
  });
}

/** The deployment with everything the gates look at, locked for update when in a transaction. */
async function loadForGates(deps: DeploymentDeps, tx: StoreExecutor, actor: Actor, id: string, lock: boolean) {
  const query = tx.select().from(deployments).where(eq(deployments.id, id));
  const [deployment] = lock ? await query.for("update") : await query;
  if (!deployment) throw new AppError("not_found", "That deployment does not exist.");
  const [envRow] = await tx.select().from(environments).where(eq(environments.id, deployment.environmentId));
  const env = environmentOf(deps, envRow!.name);
  const approvalRows = await tx
    .select({ userId: approvals.userId, userName: users.name, kind: approvals.kind, planHash: approvals.planHash })
    .from(approvals)
    .innerJoin(users, eq(users.id, approvals.userId))
    .where(eq(approvals.deploymentId, id))
    .orderBy(asc(approvals.createdAt));
  const context = (promotion: GateContext["promotion"]): GateContext => ({
    actor: { id: actor.id, role: actor.role },
    deployment: {
      state: deployment.state,
      kind: deployment.kind,
      createdBy: deployment.createdBy,
      planHash: deployment.planHash,
      requiresComplianceSignoff: deployment.plan.requiresComplianceSignoff,
      blockers: deployment.plan.blockers,
      rehearsalOk: deployment.plan.rehearsal.ok,
      // A backfill has rows to change rather than migrations to apply.
      hasMigrations: deployment.plan.migrations.length > 0 || deployment.kind === "backfill",
    },
    environment: env,
    approvals: approvalRows,
    promotion,
    now: new Date(),
  });
  return { deployment, env, context };
}

function enforce(action: DeploymentAction, ctx: GateContext): void {
  const decision = decide(action, ctx);
  if (!decision.allowed) throw new AppError("forbidden", decision.reason!);
}

async function review(deps: DeploymentDeps, actor: Actor, id: string, kind: "release_approval" | "compliance_signoff", comment?: string): Promise<Deployment> {
  return deps.store.db.transaction(async (tx) => {
    const { deployment, context } = await loadForGates(deps, tx, actor, id, true);
    enforce(kind === "release_approval" ? "approve" : "signoff", context({ ok: true }));
    await tx.insert(approvals).values({ deploymentId: id, userId: actor.id, kind, planHash: deployment.planHash, comment: comment ?? null });
    const after = (await loadForGates(deps, tx, actor, id, false)).context({ ok: true });
    const complete = approvalProgress(after).complete;
    const [row] = await tx
      .update(deployments)
      .set({ state: complete ? "approved" : "awaiting_approval", updatedAt: new Date() })
      .where(eq(deployments.id, id))
      .returning();
    await appendAuditEvent(tx, actor, {
      action: kind === "release_approval" ? "deployment.approved" : "deployment.signed_off",
      subjectType: "deployment",
      subjectId: id,
      details: { number: deployment.number, planHash: deployment.planHash, comment: comment ?? null, nowApproved: complete },
    });
    return row!;
  });
}

export const approveDeployment = (deps: DeploymentDeps, actor: Actor, input: z.infer<typeof approveInput>) => review(deps, actor, input.id, "release_approval", input.comment);
export const signoffDeployment = (deps: DeploymentDeps, actor: Actor, input: z.infer<typeof approveInput>) => review(deps, actor, input.id, "compliance_signoff", input.comment);

export async function rejectDeployment(deps: DeploymentDeps, actor: Actor, input: z.infer<typeof rejectInput>): Promise<Deployment> {
  return transition(deps, actor, input.id, "reject", "rejected", "deployment.rejected", { rejectReason: input.reason }, { reason: input.reason });
}

export async function cancelDeployment(deps: DeploymentDeps, actor: Actor, input: z.infer<typeof deploymentIdInput>): Promise<Deployment> {
  return transition(deps, actor, input.id, "cancel", "cancelled", "deployment.cancelled", {}, {});
}

async function transition(
  deps: DeploymentDeps,
  actor: Actor,
  id: string,
  action: DeploymentAction,
  state: Deployment["state"],
  auditAction: string,
  set: Partial<Deployment>,
  details: Record<string, unknown>,
): Promise<Deployment> {
  return deps.store.db.transaction(async (tx) => {
    const { deployment, context } = await loadForGates(deps, tx, actor, id, true);
    enforce(action, context({ ok: true }));
    const [row] = await tx.update(deployments).set({ ...set, state, updatedAt: new Date() }).where(eq(deployments.id, id)).returning();
    await appendAuditEvent(tx, actor, { action: auditAction, subjectType: "deployment", subjectId: id, details: { number: deployment.number, from: deployment.state, ...details } });
    return row!;
  });
}

/**
 * Recomputes the plan. A different hash voids every approval given on the old one (they stay on
 * record, bound to the old hash) and sends the deployment back for review.
 */
export async function replanDeployment(deps: DeploymentDeps, actor: Actor, input: z.infer<typeof deploymentIdInput>): Promise<Deployment> {
  const first = await loadForGates(deps, deps.store.db, actor, input.id, false);
  enforce("replan", first.context({ ok: true }));
  const planned = await plan(deps, first.env.name, first.deployment.kind, first.deployment.targetTag, first.deployment.backfillName);
  return deps.store.db.transaction(async (tx) => {
    const { deployment, context } = await loadForGates(deps, tx, actor, input.id, true);
    enforce("replan", context({ ok: true }));
    const changed = planned.hash !== deployment.planHash;
    const progress = approvalProgress({ approvals: context({ ok: true }).approvals, deployment: { planHash: planned.hash, requiresComplianceSignoff: planned.requiresComplianceSignoff }, environment: context({ ok: true }).environment });
    const ready = progress.complete && planned.blockers.length === 0 && planned.rehearsal.ok && (planned.migrations.length > 0 || deployment.kind === "backfill");
    const [row] = await tx
      .update(deployments)
      .set({ plan: planned, planHash: planned.hash, state: ready ? "approved" : "awaiting_approval", updatedAt: new Date() })
      .where(eq(deployments.id, input.id))
      .returning();
    await appendAuditEvent(tx, actor, {
      action: "deployment.plan_recomputed",
      subjectType: "deployment",
      subjectId: input.id,
      details: { number: deployment.number, oldPlanHash: deployment.planHash, newPlanHash: planned.hash, approvalsVoided: changed },
    });
    return row!;
  });
}

/**
 * Queues an approved deployment for the worker. The plan hash is re-checked against the live
 * target first: if a file, the target or the set of migrations changed, the approvals no longer
 * describe what would run.
 */
export async function enqueueDeployment(deps: DeploymentDeps, actor: Actor, input: z.infer<typeof deploymentIdInput>): Promise<Deployment> {
  const first = await loadForGates(deps, deps.store.db, actor, input.id, false);
  const promotion = await promotionCheck(deps, first.env, first.deployment.plan);
  enforce("apply", first.context(promotion));
  await assertPlanCurrent(deps, first.deployment, first.env.name);
  try {
    const queued = await deps.store.db.transaction(async (tx) => {
      const { deployment, context } = await loadForGates(deps, tx, actor, input.id, true);
      enforce("apply", context(promotion));
      const [row] = await tx.update(deployments).set({ state: "queued", updatedAt: new Date() }).where(eq(deployments.id, input.id)).returning();
      await appendAuditEvent(tx, actor, { action: "deployment.queued", subjectType: "deployment", subjectId: input.id, details: { number: deployment.number, planHash: deployment.planHash } });
      return row!;
    });
    await deps.enqueue(input.id);
    return queued;
  } catch (e) {
    if (sqlState(e) === "23505") {
      throw new AppError("conflict", `Another deployment is already queued or running on ${first.env.label}; wait for it to finish.`);
    }
    throw e;
  }
}

/** Throws a conflict when the live plan basis no longer matches the approved plan. */
export async function assertPlanCurrent(deps: DeploymentDeps, deployment: Deployment, environment: string): Promise<void> {
  const env = environmentOf(deps, environment);
  const hash =
    deployment.kind === "backfill"
      ? await backfillBasisHash(deps, env, deployment.backfillName!)
      : (await planBasis({ environment: env.name, targetUrl: targetUrl(env), catalog: await deps.catalog(), kind: deployment.kind, to: deployment.targetTag })).hash;
  if (hash !== deployment.planHash) {
    throw new AppError(
      "conflict",
      `The plan is stale: the migration files, the target's schema or the set of pending migrations changed since it was approved (plan ${deployment.planHash.slice(0, 12)}, now ${hash.slice(0, 12)}). Recompute the plan; it needs approval again.`,
    );
  }
}

export async function createRollbackDeployment(deps: DeploymentDeps, actor: Actor, input: z.infer<typeof deploymentIdInput>): Promise<Deployment> {
  const { deployment, env, context } = await loadForGates(deps, deps.store.db, actor, input.id, false);
  enforce("rollback", context({ ok: true }));
  if (!deployment.plan.from) throw new AppError("conflict", "This deployment started from an empty database; roll back with an explicit target instead.");
  return createDeployment(deps, actor, { environment: env.name, kind: "rollback", to: deployment.plan.from });
}

export interface DeploymentFilters {
  environment?: string;
  state?: (typeof DEPLOYMENT_STATES)[number];
}

export async function listDeployments(db: StoreExecutor, filters: DeploymentFilters = {}) {
  const where: SQL[] = [];
  if (filters.environment) where.push(eq(environments.name, filters.environment));
  if (filters.state) where.push(eq(deployments.state, filters.state));
  return db
    .select({
      id: deployments.id,
      number: deployments.number,
      environment: environments.name,
      kind: deployments.kind,
      state: deployments.state,
      targetTag: deployments.targetTag,
      backfillName: deployments.backfillName,
      from: deployments.plan,
      verification: deployments.verification,
      createdAt: deployments.createdAt,
      updatedAt: deployments.updatedAt,
      author: users.name,
    })
    .from(deployments)
    .innerJoin(environments, eq(environments.id, deployments.environmentId))
    .innerJoin(users, eq(users.id, deployments.createdBy))
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(deployments.number))
    .limit(200)
    .then((rows) => rows.map(({ from, ...r }) => ({ ...r, from: from.from, migrations: from.migrations.length, findings: from.findings.length })));
}

/** Everything the deployment page shows, with the gate decisions for this viewer. */
export async function deploymentView(deps: DeploymentDeps, actor: Actor, id: string) {
  const { deployment, env, context } = await loadForGates(deps, deps.store.db, actor, id, false);
  const promotion = deployment.state === "approved" ? await promotionCheck(deps, env, deployment.plan) : ({ ok: true } as const);
  const ctx = context(promotion);
  const [author] = await deps.store.db.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, deployment.createdBy));
  const approvalRows = await deps.store.db
    .select({ id: approvals.id, kind: approvals.kind, planHash: approvals.planHash, comment: approvals.comment, createdAt: approvals.createdAt, userName: users.name })
    .from(approvals)
    .innerJoin(users, eq(users.id, approvals.userId))
    .where(eq(approvals.deploymentId, id))
    .orderBy(asc(approvals.createdAt));
  const runRows = await deps.store.db.select().from(runs).where(eq(runs.deploymentId, id)).orderBy(desc(runs.startedAt));
  return {
    deployment,
    environment: { name: env.name, label: env.label, gates: env.gates },
    author: author!,
    approvals: approvalRows.map((a) => ({ ...a, current: a.planHash === deployment.planHash })),
    progress: approvalProgress(ctx),
    decisions: decideAll(ctx),
    runs: runRows,
  };
}

export async function runLog(db: StoreExecutor, deploymentId: string) {
  const [latest] = await db.select().from(runs).where(eq(runs.deploymentId, deploymentId)).orderBy(desc(runs.startedAt)).limit(1);
  const [deployment] = await db.select({ state: deployments.state, verification: deployments.verification }).from(deployments).where(eq(deployments.id, deploymentId));
  if (!deployment) throw new AppError("not_found", "That deployment does not exist.");
  const events = latest ? await db.select().from(runEvents).where(eq(runEvents.runId, latest.id)).orderBy(asc(runEvents.id)) : [];
  return { state: deployment.state, verification: deployment.verification, run: latest ?? null, events };
}

export type DeploymentView = Awaited<ReturnType<typeof deploymentView>>;
export type RunLog = Awaited<ReturnType<typeof runLog>>;
