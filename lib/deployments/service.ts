/**
 * Deployment commands, as the web, the CLI and the worker call them: validate the request, plan,
 * decide under the gate registry with fresh facts (the plan's basis against the live target,
 * promotion upstream), and hand the change to the lifecycle, which writes it with its audit event.
 * Rollbacks are deployments of their own. Reads for pages and the CLI live here too.
 */
import { and, asc, desc, eq, inArray, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Actor } from "../auth/users";
import { appendAuditEvent } from "../audit/log";
import { AppError } from "../errors";
import { ExecutorError } from "../executor/errors";
import { approvalProgress, decide, decideAll, decideCreate, type DeploymentAction, type GateContext } from "../gates/rules";
import { computePlan, planBasis, type Plan } from "../plan/plan";
import type { StoreExecutor } from "../store/db";
import { approvals, auditEvents, deployments, DEPLOYMENT_STATES, environments, runEvents, runs, users, type Deployment } from "../store/schema";
import { isOpenState } from "../store/schema/deployment-states";
import { targetUrl, type DeploymentDeps } from "./context";
import { backfillBasisHash, planBackfillFor } from "./backfill-plan";
import * as lifecycle from "./lifecycle";
import { promotionCheck } from "./promotion";
import { riskSummary, type RiskSummary } from "./risk";

export const newDeploymentInput = z.object({
  environment: z.string().min(1),
  kind: z.enum(["apply", "rollback", "backfill"]).default("apply"),
  /** backfill: the name of its file in db/backfills. */
  backfill: z.string().trim().optional(),
  /** apply: up to this tag (empty: the latest). rollback: back to this tag. */
  to: z
    .string()
    .trim()
    .nullish()
    .transform((v) => v || null),
  /** Declines the backup of destroyed data, saying why (empty: back it up, the default). */
  declineBackup: z
    .string()
    .trim()
    .max(500)
    .nullish()
    .transform((v) => v || null),
});

const comment = z
  .string()
  .trim()
  .max(1000)
  .nullish()
  .transform((v) => v || null);

export const deploymentIdInput = z.object({ id: z.uuid() });
export const cancelInput = z.object({ id: z.uuid(), comment });
export const approveInput = z.object({ id: z.uuid(), comment });
export const rejectInput = z.object({ id: z.uuid(), reason: z.string().trim().min(3, "Say why the deployment is rejected").max(1000) });

/** A created deployment, and whether it was already open (a repeated or concurrent request). */
export type OpenedDeployment = Deployment & { existing: boolean };

function environmentOf(deps: DeploymentDeps, name: string) {
  const env = deps.registry.byName(name);
  if (!env) throw new AppError("not_found", `There is no environment "${name}".`);
  return env;
}

async function environmentRow(db: StoreExecutor, name: string) {
  const [row] = await db.select().from(environments).where(eq(environments.name, name));
  if (!row) throw new AppError("not_found", `${name} is not registered in the store yet; restart the console.`);
  return row;
}

/** A deployment's id from its uuid or its number ("12", "#12"); not_found for anything else. */
export async function resolveDeploymentId(db: StoreExecutor, value: string): Promise<string> {
  const trimmed = value.trim();
  if (z.uuid().safeParse(trimmed).success) {
    const [row] = await db.select({ id: deployments.id }).from(deployments).where(eq(deployments.id, trimmed));
    if (row) return row.id;
    throw new AppError("not_found", "That deployment does not exist.");
  }
  const digits = trimmed.replace(/^#/, "");
  if (/^\d{1,15}$/.test(digits)) {
    const [row] = await db.select({ id: deployments.id }).from(deployments).where(eq(deployments.number, Number(digits)));
    if (row) return row.id;
    throw new AppError("not_found", `There is no deployment #${digits}.`);
  }
  throw new AppError("not_found", `"${value}" is neither a deployment's id nor its number.`);
}

/** What makes two requests the same deployment: its kind and the migration it moves the environment to. */
export function openKeyOf(kind: Deployment["kind"], targetTag: string | null): string {
  return `${kind}:${targetTag ?? ""}`;
}

async function plan(deps: DeploymentDeps, environment: string, kind: Deployment["kind"], to: string | null, backfill: string | null = null): Promise<Plan> {
  const env = environmentOf(deps, environment);
  if (kind === "backfill") {
    if (!backfill) throw new AppError("invalid_input", "A backfill deployment needs the backfill to run.", { backfill: ["Choose a backfill"] });
    return planBackfillFor(deps, env, backfill);
  }
  return computePlan({ environment: env.name, targetUrl: targetUrl(env), catalog: await deps.catalog(), kind, to }, deps.shadow);
}

/** The risk summary; a target that stops answering mid-way leaves the plan without one rather than failing it. */
async function riskOf(deps: DeploymentDeps, env: ReturnType<typeof environmentOf>, planned: Plan): Promise<RiskSummary | null> {
  try {
    return await riskSummary(planned, await deps.catalog(), targetUrl(env));
  } catch {
    return null;
  }
}

/**
 * Opens a deployment. Idempotent: while the environment has an unfinished deployment to the same
 * target migration, that one is returned (`existing: true`) and nothing is planned. Refused with
 * `promotion` when a gate could never let it run as planned.
 */
export async function createDeployment(deps: DeploymentDeps, actor: Actor, input: z.input<typeof newDeploymentInput>): Promise<OpenedDeployment> {
  const request = newDeploymentInput.parse(input);
  const env = environmentOf(deps, request.environment);
  const gate = decideCreate({ actor, environment: env, now: new Date() });
  if (!gate.allowed) throw new AppError("forbidden", gate.reason!);
  if (request.kind === "backfill") return createBackfillDeployment(deps, actor, env, request.backfill);
  if (request.kind === "rollback" && !request.to) throw new AppError("invalid_input", "A rollback needs the migration to go back to.", { to: ["Choose a migration"] });
  if (request.declineBackup !== null && request.declineBackup.length < 3) throw new AppError("invalid_input", "Say why the backup is declined.", { declineBackup: ["Say why"] });
  const catalog = await deps.catalog();
  if (request.to && !catalog.byTag(request.to)) throw new AppError("invalid_input", `There is no migration "${request.to}".`, { to: ["Unknown migration"] });
  const targetTag = request.kind === "apply" ? (request.to ?? catalog.latest?.tag ?? null) : request.to;
  const openKey = openKeyOf(request.kind, targetTag);
  const envRow = await environmentRow(deps.store.db, env.name);

  const already = await lifecycle.findUnfinished(deps.store.db, envRow.id, openKey);
  if (already) return { ...already, existing: true };

  // Refused before anyone works: promotion is decided on the basis, before the rehearsal runs.
  const basis = await planBasis({ environment: env.name, targetUrl: targetUrl(env), catalog, kind: request.kind, to: request.to });
  if (basis.units.length === 0 && basis.blockers.length === 0) {
    throw new AppError("conflict", `${env.label} is already at ${basis.status.current ?? "the requested version"}: there is nothing to deploy.`);
  }
  const promotion = await promotionCheck(deps, env, { kind: request.kind, migrations: basis.units.map((u) => ({ tag: u.migration.tag, idx: u.migration.idx })) });
  if (!promotion.ok) {
    await deps.store.db.transaction((tx) =>
      appendAuditEvent(tx, actor, {
        action: "deployment.refused",
        subjectType: "environment",
        subjectId: env.name,
        details: { attempted: "create", code: "promotion", reason: promotion.reason, kind: request.kind, to: targetTag, migrations: basis.units.map((u) => u.migration.tag) },
      }),
    );
    throw new AppError("promotion", promotion.reason);
  }
  const planned = await plan(deps, env.name, request.kind, request.to);
  if (planned.migrations.length === 0 && planned.blockers.length === 0) {
    throw new AppError("conflict", `${env.label} is already at ${planned.from ?? "the requested version"}: there is nothing to deploy.`);
  }
  const { deployment, existing } = await lifecycle.openDeployment(deps.store, actor, {
    environment: env,
    environmentId: envRow.id,
    kind: request.kind,
    targetTag: planned.to ?? targetTag,
    openKey,
    plan: planned,
    risk: await riskOf(deps, env, planned),
    backupDeclinedReason: request.declineBackup ? `declined by ${actor.email}: ${request.declineBackup}` : null,
  });
  return { ...deployment, existing };
}

/**
 * A backfill deployment: planned by lib/backfills (rows, tagged columns, rehearsal on sample rows),
 * then opened through the same lifecycle. One unfinished deployment per backfill and environment.
 */
async function createBackfillDeployment(deps: DeploymentDeps, actor: Actor, env: ReturnType<typeof environmentOf>, name: string | undefined): Promise<OpenedDeployment> {
  if (!name) throw new AppError("invalid_input", "A backfill deployment needs the backfill to run.", { backfill: ["Choose a backfill"] });
  const envRow = await environmentRow(deps.store.db, env.name);
  const openKey = `backfill:${name}`;
  const already = await lifecycle.findUnfinished(deps.store.db, envRow.id, openKey);
  if (already) return { ...already, existing: true };
  const planned = await plan(deps, env.name, "backfill", null, name);
  const { deployment, existing } = await lifecycle.openDeployment(deps.store, actor, {
    environment: env,
    environmentId: envRow.id,
    kind: "backfill",
    targetTag: null,
    backfillName: name,
    openKey,
    plan: planned,
    risk: null,
    details: { backfill: name, checksum: planned.backfill?.checksum ?? null },
  });
  return { ...deployment, existing };
}

interface Freshness {
  promotion: GateContext["promotion"];
  planCurrent: GateContext["planCurrent"];
}
const UNCHECKED: Freshness = { promotion: { ok: true }, planCurrent: { ok: true } };

/** The gate context of a deployment as `actor` sees it, from the given store handle. */
async function gateContext(deps: DeploymentDeps, db: StoreExecutor, actor: Actor, deployment: Deployment, fresh: Freshness): Promise<{ env: ReturnType<typeof environmentOf>; context: GateContext }> {
  const [envRow] = await db.select().from(environments).where(eq(environments.id, deployment.environmentId));
  const env = environmentOf(deps, envRow!.name);
  return {
    env,
    context: {
      actor: { id: actor.id, role: actor.role },
      deployment: {
        state: deployment.state,
        kind: deployment.kind,
        createdBy: deployment.createdBy,
        planHash: deployment.planHash,
        planRevision: deployment.planRevision,
        requiresComplianceSignoff: lifecycle.planNeedsCompliance(deployment.plan),
        blockers: deployment.plan.blockers,
        rehearsalOk: deployment.plan.rehearsal.ok,
        // A backfill has rows to change rather than migrations to apply.
        hasMigrations: deployment.plan.migrations.length > 0 || deployment.kind === "backfill",
      },
      environment: env,
      approvals: await lifecycle.approvalsOf(db, deployment.id),
      promotion: fresh.promotion,
      planCurrent: fresh.planCurrent,
      now: new Date(),
    },
  };
}

async function load(deps: DeploymentDeps, id: string): Promise<Deployment> {
  const [deployment] = await deps.store.db.select().from(deployments).where(eq(deployments.id, await resolveDeploymentId(deps.store.db, id)));
  if (!deployment) throw new AppError("not_found", "That deployment does not exist.");
  return deployment;
}

/** Throws the decision's refusal with its code (forbidden, stale_plan, promotion, unreachable). */
function enforce(action: DeploymentAction, ctx: GateContext): void {
  const decision = decide(action, ctx);
  if (!decision.allowed) throw new AppError(decision.code ?? "forbidden", decision.reason!);
}

/** Whether the stored plan still matches the files and the live target. */
export async function planCurrentness(deps: DeploymentDeps, deployment: Deployment, environment: string): Promise<GateContext["planCurrent"]> {
  const env = environmentOf(deps, environment);
  try {
    const basis =
      deployment.kind === "backfill"
        ? { hash: await backfillBasisHash(deps, env, deployment.backfillName!) }
        : await planBasis({ environment: env.name, targetUrl: targetUrl(env), catalog: await deps.catalog(), kind: deployment.kind, to: deployment.targetTag });
    if (basis.hash === deployment.planHash) return { ok: true };
    return {
      ok: false,
      code: "stale_plan",
      reason: `The plan is stale: the migration files, the target's schema or the set of pending migrations changed since it was planned (plan ${deployment.planHash.slice(0, 12)}, now ${basis.hash.slice(0, 12)}). Recompute the plan; it needs approval again.`,
    };
  } catch (e) {
    if ((e instanceof ExecutorError || e instanceof AppError) && e.code === "unreachable") return { ok: false, code: "unreachable", reason: `${e.message} The plan cannot be checked against it.` };
    throw e;
  }
}

/** Throws stale_plan when the live plan basis no longer matches the stored plan. */
export async function assertPlanCurrent(deps: DeploymentDeps, deployment: Deployment, environment: string): Promise<void> {
  const current = await planCurrentness(deps, deployment, environment);
  if (!current.ok) throw new AppError(current.code, current.reason);
}

/**
 * An action that must hold against the live target (approve, sign off, apply): the cheap gates
 * first, then the plan's basis and promotion, recomputed now. A refusal on those facts is audited.
 */
async function checkFresh(deps: DeploymentDeps, actor: Actor, action: DeploymentAction, deployment: Deployment): Promise<Freshness> {
  const { env, context } = await gateContext(deps, deps.store.db, actor, deployment, UNCHECKED);
  enforce(action, context);
  const fresh: Freshness = { planCurrent: await planCurrentness(deps, deployment, env.name), promotion: await promotionCheck(deps, env, deployment.plan) };
  const decision = decide(action, { ...context, ...fresh });
  if (!decision.allowed) {
    if (decision.code !== "forbidden") await lifecycle.recordRefusal(deps.store, actor, deployment.id, { action, code: decision.code!, message: decision.reason! });
    throw new AppError(decision.code ?? "forbidden", decision.reason!);
  }
  return fresh;
}

async function review(deps: DeploymentDeps, actor: Actor, id: string, kind: lifecycle.ApprovalKind, note: string | null): Promise<Deployment> {
  const action = kind === "release_approval" ? "approve" : "signoff";
  const deployment = await load(deps, id);
  const fresh = await checkFresh(deps, actor, action, deployment);
  const { env } = await gateContext(deps, deps.store.db, actor, deployment, fresh);
  // The lifecycle re-runs the gates on the locked row: a plan recomputed meanwhile is not the one checked.
  return lifecycle.recordReview(deps.store, actor, deployment.id, { kind, comment: note, environment: env }, async (locked, tx) => {
    if (locked.planRevision !== deployment.planRevision) throw new AppError("stale_plan", "The plan was recomputed while you reviewed it; review the new plan.");
    enforce(action, (await gateContext(deps, tx, actor, locked, fresh)).context);
  });
}

export const approveDeployment = (deps: DeploymentDeps, actor: Actor, input: z.input<typeof approveInput>) => review(deps, actor, input.id, "release_approval", approveInput.parse(input).comment);
export const signoffDeployment = (deps: DeploymentDeps, actor: Actor, input: z.input<typeof approveInput>) => review(deps, actor, input.id, "compliance_signoff", approveInput.parse(input).comment);

export async function rejectDeployment(deps: DeploymentDeps, actor: Actor, input: z.input<typeof rejectInput>): Promise<Deployment> {
  const { reason } = rejectInput.parse(input);
  const deployment = await load(deps, input.id);
  return lifecycle.rejectDeployment(deps.store, actor, deployment.id, reason, async (locked, tx) => enforce("reject", (await gateContext(deps, tx, actor, locked, UNCHECKED)).context));
}

export async function cancelDeployment(deps: DeploymentDeps, actor: Actor, input: z.input<typeof cancelInput>): Promise<Deployment> {
  const { comment: note } = cancelInput.parse(input);
  const deployment = await load(deps, input.id);
  return lifecycle.cancelDeployment(deps.store, actor, deployment.id, note, async (locked, tx) => enforce("cancel", (await gateContext(deps, tx, actor, locked, UNCHECKED)).context));
}

/**
 * Recomputes the plan. A different plan is a new revision: every approval given before is void
 * for good, and the deployment goes back for review.
 */
export async function replanDeployment(deps: DeploymentDeps, actor: Actor, input: z.input<typeof deploymentIdInput>): Promise<Deployment> {
  const deployment = await load(deps, input.id);
  const { env, context } = await gateContext(deps, deps.store.db, actor, deployment, UNCHECKED);
  enforce("replan", context);
  const planned = await plan(deps, env.name, deployment.kind, deployment.targetTag, deployment.backfillName);
  const risk = await riskOf(deps, env, planned);
  return lifecycle.replan(deps.store, actor, deployment.id, { plan: planned, risk, environment: env }, async (locked, tx) => enforce("replan", (await gateContext(deps, tx, actor, locked, UNCHECKED)).context));
}

/**
 * Queues an approved deployment for the worker, naming the actor as the one who started it. The
 * plan is re-checked against the live target first (and again by the worker before it runs).
 */
export async function enqueueDeployment(deps: DeploymentDeps, actor: Actor, input: z.input<typeof deploymentIdInput>): Promise<Deployment> {
  const deployment = await load(deps, input.id);
  const fresh = await checkFresh(deps, actor, "apply", deployment);
  const env = (await gateContext(deps, deps.store.db, actor, deployment, fresh)).env;
  const queued = await lifecycle.queueDeployment(deps.store, actor, deployment.id, env.label, async (locked, tx) => {
    if (locked.planRevision !== deployment.planRevision) throw new AppError("stale_plan", "The plan was recomputed meanwhile; it needs its approvals again.");
    enforce("apply", (await gateContext(deps, tx, actor, locked, fresh)).context);
  });
  await deps.enqueue(deployment.id);
  return queued;
}

export async function createRollbackDeployment(deps: DeploymentDeps, actor: Actor, input: z.input<typeof deploymentIdInput>): Promise<OpenedDeployment> {
  const deployment = await load(deps, input.id);
  const { env, context } = await gateContext(deps, deps.store.db, actor, deployment, UNCHECKED);
  enforce("rollback", context);
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

/** What dominates the top of a deployment page: why it cannot go ahead, if it cannot. */
export interface Blocking {
  kind: "blocked" | "rehearsal_failed" | "stale_plan" | "unreachable" | "promotion" | "run_failed";
  title: string;
  reasons: string[];
}

function blockingOf(deployment: Deployment, fresh: Freshness, runError: { message?: string } | null): Blocking[] {
  const out: Blocking[] = [];
  const plan = deployment.plan;
  if (plan.blockers.length > 0) out.push({ kind: "blocked", title: "Blocked: this plan cannot run as it is", reasons: plan.blockers });
  else if (!plan.rehearsal.ok) out.push({ kind: "rehearsal_failed", title: "Blocked: the rehearsal failed", reasons: [plan.rehearsal.error ?? "The rehearsal failed.", "Fix the migration and recompute the plan; it cannot be approved as it is."] });
  if (!fresh.planCurrent.ok) out.push({ kind: fresh.planCurrent.code, title: fresh.planCurrent.code === "stale_plan" ? "Stale: the plan no longer matches the files or the target" : "The target cannot be reached", reasons: [fresh.planCurrent.reason] });
  if (!fresh.promotion.ok) out.push({ kind: "promotion", title: "Blocked by promotion", reasons: [fresh.promotion.reason] });
  if (deployment.state === "failed" && runError?.message) out.push({ kind: "run_failed", title: "The run failed", reasons: [runError.message] });
  return out;
}

/** Everything the deployment page shows, with the gate decisions for this viewer, checked against the live target while it is under review. */
export async function deploymentView(deps: DeploymentDeps, actor: Actor, idOrNumber: string) {
  const deployment = await load(deps, idOrNumber);
  const id = deployment.id;
  const [envRow] = await deps.store.db.select().from(environments).where(eq(environments.id, deployment.environmentId));
  const env = environmentOf(deps, envRow!.name);
  const fresh: Freshness = isOpenState(deployment.state)
    ? { planCurrent: await planCurrentness(deps, deployment, env.name), promotion: await promotionCheck(deps, env, deployment.plan) }
    : UNCHECKED;
  const { context: ctx } = await gateContext(deps, deps.store.db, actor, deployment, fresh);
  const person = async (userId: string | null) => (userId ? (await deps.store.db.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, userId)))[0] : undefined);
  const author = (await person(deployment.createdBy))!;
  const startedBy = (await person(deployment.startedBy)) ?? null;
  const approvalRows = await deps.store.db
    .select({ id: approvals.id, kind: approvals.kind, planHash: approvals.planHash, planRevision: approvals.planRevision, comment: approvals.comment, createdAt: approvals.createdAt, userName: users.name, userEmail: users.email })
    .from(approvals)
    .innerJoin(users, eq(users.id, approvals.userId))
    .where(eq(approvals.deploymentId, id))
    .orderBy(asc(approvals.createdAt));
  const runRows = await deps.store.db.select().from(runs).where(eq(runs.deploymentId, id)).orderBy(desc(runs.startedAt));
  const timeline = await deps.store.db
    .select({ id: auditEvents.id, at: auditEvents.occurredAt, actor: auditEvents.actorEmail, action: auditEvents.action, details: auditEvents.details })
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectType, "deployment"), eq(auditEvents.subjectId, id)))
    .orderBy(asc(auditEvents.id));
  return {
    deployment,
    environment: { name: env.name, label: env.label, gates: env.gates },
    author,
    startedBy,
    approvals: approvalRows.map((a) => ({ ...a, current: a.planRevision === deployment.planRevision && a.planHash === deployment.planHash })),
    progress: approvalProgress(ctx),
    decisions: decideAll(ctx),
    stale: !fresh.planCurrent.ok && fresh.planCurrent.code === "stale_plan",
    blocking: blockingOf(deployment, fresh, (runRows[0]?.error as { message?: string } | null) ?? null),
    risk: deployment.risk ?? null,
    timeline: timeline.map((t) => ({ ...t, details: t.details as Record<string, unknown> })),
    runs: runRows,
  };
}

export async function runLog(db: StoreExecutor, deploymentId: string) {
  const id = await resolveDeploymentId(db, deploymentId);
  const [latest] = await db.select().from(runs).where(eq(runs.deploymentId, id)).orderBy(desc(runs.startedAt)).limit(1);
  const [deployment] = await db.select({ state: deployments.state, verification: deployments.verification }).from(deployments).where(eq(deployments.id, id));
  if (!deployment) throw new AppError("not_found", "That deployment does not exist.");
  const events = latest ? await db.select().from(runEvents).where(eq(runEvents.runId, latest.id)).orderBy(asc(runEvents.id)) : [];
  return { state: deployment.state, verification: deployment.verification, run: latest ?? null, events };
}

export interface RunPeople {
  deploymentNumber: number;
  /** The person who started the apply or rollback. */
  startedBy: string;
  /** The person who opened the deployment. */
  author: string;
}

/**
 * Who started and who authored the runs a target's history names (by run id). Runs not started
 * through a deployment (the CLI, set-up scripts) are absent: their history row's actor says who.
 */
export async function runPeople(db: StoreExecutor, runIds: (string | null | undefined)[]): Promise<Map<string, RunPeople>> {
  const ids = [...new Set(runIds.filter((id): id is string => !!id && z.uuid().safeParse(id).success))];
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ runId: runs.id, number: deployments.number, startedById: runs.startedBy, authorId: deployments.createdBy })
    .from(runs)
    .innerJoin(deployments, eq(deployments.id, runs.deploymentId))
    .where(inArray(runs.id, ids));
  const userIds = [...new Set(rows.flatMap((r) => [r.authorId, r.startedById]).filter((u): u is string => !!u))];
  const names = new Map((userIds.length ? await db.select({ id: users.id, name: users.name }).from(users).where(inArray(users.id, userIds)) : []).map((u) => [u.id, u.name]));
  return new Map(
    rows.map((r) => [r.runId, { deploymentNumber: r.number, startedBy: names.get(r.startedById ?? r.authorId) ?? "unknown", author: names.get(r.authorId) ?? "unknown" }]),
  );
}

export type DeploymentView = Awaited<ReturnType<typeof deploymentView>>;
export type RunLog = Awaited<ReturnType<typeof runLog>>;
