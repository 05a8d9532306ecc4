/** CLI commands over plans and deployments: `plan`, `deployment …` and `apply --deployment`. */
import {
  approveDeployment,
  cancelDeployment,
  createDeployment,
  deploymentView,
  enqueueDeployment,
  rejectDeployment,
  resolveDeploymentId,
  runLog,
  signoffDeployment,
} from "../lib/deployments/service";
import { isTerminalState } from "../lib/deployments/lifecycle";
import { targetUrl } from "../lib/deployments/context";
import { startDeploymentWorker } from "../lib/jobs/queue";
import { AppError } from "../lib/errors";
import { verifyAfterApply } from "../lib/verify/snapshots";
import { computePlan } from "../lib/plan/plan";
import type { ConsoleSession } from "./console-session";
import { reportPlan, type PlanOptions } from "./plan";

export interface Output {
  json: boolean;
  print(value: unknown, text: string): void;
  progress(text: string): void;
}

/** A deployment by uuid, or by its number ("12" or "#12"). */
export async function deploymentId(session: ConsoleSession, value: string | undefined): Promise<string> {
  if (!value) throw new AppError("invalid_input", "Say which deployment: --deployment ID (its id or number).");
  return resolveDeploymentId(session.store.db, value);
}

/** `plan --env NAME`: the plan a deployment would get, from the console's configuration. */
export async function planCommand(session: ConsoleSession, out: Output, options: PlanOptions & { env: string }): Promise<number> {
  const env = session.config.registry.byName(options.env);
  if (!env) throw new AppError("invalid_input", `Unknown environment "${options.env}".`);
  const plan = await computePlan(
    { environment: env.name, targetUrl: targetUrl(env), catalog: options.catalog, kind: options.rollback ? "rollback" : "apply", to: options.to },
    session.deps.shadow,
  );
  return reportPlan(out, plan, options);
}

export async function deploymentCommand(session: ConsoleSession, out: Output, sub: string | undefined, options: { env?: string; to?: string; backfill?: string; deployment?: string; comment?: string; reason?: string }): Promise<number> {
  const actor = await session.actor();
  const deps = session.deps;
  switch (sub) {
    case "create": {
      if (!options.env) throw new AppError("invalid_input", "deployment create needs --env NAME.");
      if (options.backfill && options.to) throw new AppError("invalid_input", "deployment create takes --to TAG or --backfill NAME, not both.");
      const created = options.backfill
        ? await createDeployment(deps, actor, { environment: options.env, kind: "backfill", backfill: options.backfill, to: null })
        : await createDeployment(deps, actor, { environment: options.env, kind: "apply", to: options.to ?? null });
      if (created.existing) out.progress(`${options.env} already has deployment #${created.number} open ${options.backfill ? "for this backfill" : "to this migration"}: this is it.`);
      return show(session, out, created.id, { existing: created.existing });
    }
    case "show":
      return show(session, out, await deploymentId(session, options.deployment));
    case "approve":
      await approveDeployment(deps, actor, { id: await deploymentId(session, options.deployment), comment: options.comment });
      return show(session, out, await deploymentId(session, options.deployment));
    case "signoff":
      await signoffDeployment(deps, actor, { id: await deploymentId(session, options.deployment), comment: options.comment });
      return show(session, out, await deploymentId(session, options.deployment));
    case "reject":
      if (!(options.reason ?? options.comment)) throw new AppError("invalid_input", "deployment reject needs --reason TEXT: say why.");
      await rejectDeployment(deps, actor, { id: await deploymentId(session, options.deployment), reason: (options.reason ?? options.comment)! });
      return show(session, out, await deploymentId(session, options.deployment));
    case "cancel":
      await cancelDeployment(deps, actor, { id: await deploymentId(session, options.deployment), comment: options.comment });
      return show(session, out, await deploymentId(session, options.deployment));
    default:
      throw new AppError("invalid_input", `Unknown deployment command "${sub ?? ""}": create, show, approve, signoff, reject or cancel.`);
  }
}

async function show(session: ConsoleSession, out: Output, id: string, extra: { existing?: boolean } = {}): Promise<number> {
  const view = await deploymentView(session.deps, await session.actor(), id);
  const d = view.deployment;
  const text = [
    `deployment #${d.number} (${d.id}) on ${view.environment.name}: ${d.state}${view.stale ? " (stale: recompute the plan)" : ""}${extra.existing ? " (already open)" : ""}`,
    ...view.blocking.map((b) => `  ${b.title}: ${b.reasons.join(" ")}`),
    d.kind === "backfill"
      ? `  backfill ${d.backfillName}: ${d.plan.backfill?.rows.counted ?? "?"} rows to change on ${d.plan.backfill?.table}; plan ${d.planHash.slice(0, 12)}`
      : `  ${d.kind} ${d.plan.from ?? "(empty)"} -> ${d.plan.to ?? "(empty)"}; plan ${d.planHash.slice(0, 12)}`,
    `  approvals: ${view.progress.releaseApprovals.have} of ${view.progress.releaseApprovals.need}; compliance sign-off ${view.progress.compliance.required ? (view.progress.compliance.given ? "given" : "required") : "not required"}`,
    ...view.progress.waitingOn.map((w) => `  waiting for ${w}`),
  ].join("\n");
  out.print(
    {
      id: d.id,
      number: d.number,
      environment: view.environment.name,
      kind: d.kind,
      backfill: d.backfillName,
      state: d.state,
      planHash: d.planHash,
      planRevision: d.planRevision,
      progress: view.progress,
      decisions: view.decisions,
      ...(extra.existing !== undefined ? { existing: extra.existing } : {}),
      stale: view.stale,
      blocking: view.blocking,
      risk: view.risk,
      author: view.author.email,
      startedBy: view.startedBy?.email ?? null,
    },
    text,
  );
  return 0;
}

/** Queues the deployment, works it here (or lets any other worker take it), and follows its log. */
export async function applyDeploymentCommand(session: ConsoleSession, out: Output, value: string | undefined): Promise<number> {
  const id = await deploymentId(session, value);
  await enqueueDeployment(session.deps, await session.actor(), { id });
  // Like every worker, this one verifies the environment right after the apply.
  const worker = await startDeploymentWorker(await session.queue(), session.deps, verifyAfterApply(session.deps));
  try {
    let seen = 0;
    let verificationDeadline: number | null = null;
    for (;;) {
      const log = await runLog(session.store.db, id);
      for (const e of log.events.slice(seen)) out.progress(`${e.type} ${JSON.stringify(e.payload)}`);
      seen = log.events.length;
      // A succeeded apply is complete once its verification is recorded (bounded, in case it cannot run).
      const verifying = log.state === "succeeded" && !log.verification && (verificationDeadline ??= Date.now() + 120_000) > Date.now();
      if (isTerminalState(log.state) && !verifying) {
        out.print(
          { id, state: log.state, verification: log.verification, run: log.run, events: log.events.length },
          `deployment ${id}: ${log.state}${log.verification ? `, verification ${log.verification}` : ""}`,
        );
        return log.state === "succeeded" ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await worker.stop();
  }
}
