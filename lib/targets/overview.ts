/**
 * Everything the Overview shows, read from the store alone (no connection to any target): per
 * environment the state the last verification recorded (version, pending, compliance, drift), the
 * running deployment with its progress, the last finished one, and what waits on the viewer's role.
 * A fixed number of indexed queries whatever the number of deployments.
 */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { Actor } from "../auth/users";
import type { EnvironmentRegistry } from "../config/environments";
import { approvalProgress, decide, type GateApproval } from "../gates/rules";
import type { StoreExecutor } from "../store/db";
import { approvals, deployments, environments, environmentStatus, runEvents, runs, users, type DeploymentState, type DriftSummary } from "../store/schema";

export interface OverviewDeployment {
  id: string;
  number: number;
  kind: "apply" | "rollback";
  state: DeploymentState;
  from: string | null;
  to: string | null;
  migrations: number;
  author: { name: string; email: string };
  createdAt: string;
  updatedAt: string;
  verification: string | null;
}

export interface OverviewEnvironment {
  name: string;
  label: string;
  position: number;
  requiredApprovals: number;
  promotionFrom: string | null;
  /** null until the first verification run recorded it. */
  status: {
    currentVersion: string | null;
    pendingCount: number | null;
    ledgerProblems: number;
    reachable: boolean;
    serverVersion: string | null;
    error: string | null;
    verification: { id: string | null; outcome: string | null; at: string | null; failingGroups: string[] };
    drift: DriftSummary | null;
    driftSince: string | null;
    updatedAt: string;
  } | null;
  running: (OverviewDeployment & { progress: { done: number; total: number | null; startedAt: string | null } }) | null;
  last: OverviewDeployment | null;
  /** Deployments here that the viewer's role can approve or sign off now. */
  awaitingMe: { id: string; number: number; action: "approve" | "signoff"; summary: string }[];
  awaitingApproval: number;
}

const deploymentColumns = {
  id: deployments.id,
  number: deployments.number,
  environmentId: deployments.environmentId,
  kind: deployments.kind,
  state: deployments.state,
  createdBy: deployments.createdBy,
  planHash: deployments.planHash,
  planRevision: deployments.planRevision,
  from: sql<string | null>`${deployments.plan}->>'from'`,
  to: sql<string | null>`${deployments.plan}->>'to'`,
  migrations: sql<number>`jsonb_array_length(${deployments.plan}->'migrations')`,
  requiresComplianceSignoff: sql<boolean>`coalesce((${deployments.plan}->>'requiresComplianceSignoff')::boolean, false)`,
  blocked: sql<boolean>`jsonb_array_length(coalesce(${deployments.plan}->'blockers', '[]'::jsonb)) > 0`,
  rehearsalOk: sql<boolean>`coalesce((${deployments.plan}->'rehearsal'->>'ok')::boolean, false)`,
  verification: deployments.verification,
  createdAt: deployments.createdAt,
  updatedAt: deployments.updatedAt,
  authorName: users.name,
  authorEmail: users.email,
};

type Row = { [K in keyof typeof deploymentColumns]: unknown } & Record<string, unknown>;

function asDeployment(r: Row): OverviewDeployment {
  return {
    id: r.id as string,
    number: Number(r.number),
    kind: r.kind as "apply" | "rollback",
    state: r.state as DeploymentState,
    from: r.from as string | null,
    to: r.to as string | null,
    migrations: Number(r.migrations),
    author: { name: r.authorName as string, email: r.authorEmail as string },
    createdAt: new Date(r.createdAt as Date).toISOString(),
    updatedAt: new Date(r.updatedAt as Date).toISOString(),
    verification: r.verification as string | null,
  };
}

export async function environmentsOverview(db: StoreExecutor, registry: EnvironmentRegistry, actor: Pick<Actor, "id" | "role">): Promise<OverviewEnvironment[]> {
  const everyEnvironment = sql`${deployments.environmentId} in (select id from ${environments})`;
  // Four queries at once, whatever the number of deployments: one round trip.
  const [envRows, active, last, waiting] = await Promise.all([
    db.select({ env: environments, status: environmentStatus }).from(environments).leftJoin(environmentStatus, eq(environmentStatus.environmentId, environments.id)),
    // At most one queued or running deployment per environment (a unique partial index), with its progress.
    db
      .select({
        ...deploymentColumns,
        progressTotal: sql<number | null>`(select (e.payload->>'statements')::int from ${runEvents} e join ${runs} r on r.id = e.run_id
          where r.deployment_id = ${deployments.id} and r.state = 'running' and e.type = 'run_started' order by e.id limit 1)`,
        progressDone: sql<number | null>`(select (e.payload->>'done')::int from ${runEvents} e join ${runs} r on r.id = e.run_id
          where r.deployment_id = ${deployments.id} and r.state = 'running' and e.type = 'statement_finished' order by e.id desc limit 1)`,
        runStartedAt: sql<string | null>`(select max(r.started_at) from ${runs} r where r.deployment_id = ${deployments.id} and r.state = 'running')`,
      })
      .from(deployments)
      .innerJoin(users, eq(users.id, deployments.createdBy))
      .where(and(everyEnvironment, inArray(deployments.state, ["queued", "running"]))),
    // The newest finished deployment per environment: one backwards index scan each.
    // The lateral picks ids only: computing the plan's fields before the limit would read every plan.
    db.execute<Row>(sql`
      select ${deployments.id} as "id", ${deployments.number} as "number", ${deployments.environmentId} as "environmentId",
             ${deployments.kind} as "kind", ${deployments.state} as "state", ${deployments.plan}->>'from' as "from",
             ${deployments.plan}->>'to' as "to", jsonb_array_length(${deployments.plan}->'migrations') as "migrations",
             ${deployments.verification} as "verification", ${deployments.createdAt} as "createdAt", ${deployments.updatedAt} as "updatedAt",
             ${users.name} as "authorName", ${users.email} as "authorEmail"
      from ${environments} e
      cross join lateral (
        select l.id from ${deployments} l
        -- A range, not "=": with an equality the planner drops environment_id from the ordering and,
        -- assuming environments interleave evenly, walks every number backwards (a rarely deployed
        -- environment then costs a scan of all deployments); this way it walks the partial index.
        where l.environment_id >= e.id and l.environment_id <= e.id and l.state in ('succeeded', 'failed')
        order by l.environment_id desc, l.number desc limit 1
      ) latest
      join ${deployments} on ${deployments.id} = latest.id
      join ${users} on ${users.id} = ${deployments.createdBy}`),
    db
      .select({
        ...deploymentColumns,
        approvals: sql<GateApproval[]>`coalesce((select json_agg(json_build_object('userId', a.user_id, 'userName', u.name, 'kind', a.kind, 'planHash', a.plan_hash, 'planRevision', a.plan_revision))
          from ${approvals} a join ${users} u on u.id = a.user_id where a.deployment_id = ${deployments.id}), '[]'::json)`,
      })
      .from(deployments)
      .innerJoin(users, eq(users.id, deployments.createdBy))
      .where(and(everyEnvironment, eq(deployments.state, "awaiting_approval")))
      .orderBy(asc(deployments.number)),
  ]);

  const byName = new Map(envRows.map((r) => [r.env.name, r]));
  const now = new Date();
  return registry.environments.map((env): OverviewEnvironment => {
    const row = byName.get(env.name);
    const envId = row?.env.id;
    const s = row?.status ?? null;
    const activeRow = active.find((a) => a.environmentId === envId);
    const lastRow = [...last].find((l) => l.environmentId === envId);
    const mine: OverviewEnvironment["awaitingMe"] = [];
    const here = waiting.filter((w) => w.environmentId === envId);
    for (const w of here) {
      const gateApprovals: GateApproval[] = w.approvals;
      const ctx = {
        actor: { id: actor.id, role: actor.role },
        deployment: {
          state: w.state,
          kind: w.kind,
          createdBy: w.createdBy,
          planHash: w.planHash,
          planRevision: w.planRevision,
          requiresComplianceSignoff: w.requiresComplianceSignoff,
          blockers: w.blocked ? ["blocked"] : [],
          rehearsalOk: w.rehearsalOk,
          hasMigrations: w.migrations > 0,
        },
        environment: env,
        approvals: gateApprovals,
        // Promotion and staleness are checked when the reviewer acts; the Overview lists what waits on the role.
        promotion: { ok: true } as const,
        planCurrent: { ok: true } as const,
        now,
      };
      const progressNow = approvalProgress(ctx);
      for (const action of ["approve", "signoff"] as const) {
        if (decide(action, ctx).allowed) {
          mine.push({
            id: w.id,
            number: Number(w.number),
            action,
            summary: `#${w.number} ${w.kind} ${w.from ?? "empty"} → ${w.to ?? "empty"} by ${w.authorName}: ${progressNow.waitingOn.join(" and ")}`,
          });
        }
      }
    }
    return {
      name: env.name,
      label: env.label,
      position: env.position,
      requiredApprovals: env.gates.releaseManagerApprovals,
      promotionFrom: env.gates.promotionFrom,
      status: s
        ? {
            currentVersion: s.currentVersion,
            pendingCount: s.pendingCount,
            ledgerProblems: s.ledgerProblems,
            reachable: s.reachable,
            serverVersion: s.serverVersion,
            error: s.error,
            verification: { id: s.verificationId, outcome: s.verificationOutcome, at: s.verificationAt?.toISOString() ?? null, failingGroups: s.failingGroups },
            drift: s.drift,
            driftSince: s.driftSince?.toISOString() ?? null,
            updatedAt: s.updatedAt.toISOString(),
          }
        : null,
      running: activeRow
        ? {
            ...asDeployment(activeRow as unknown as Row),
            progress: {
              done: activeRow.progressDone ?? 0,
              total: activeRow.progressTotal ?? null,
              startedAt: activeRow.runStartedAt ? new Date(activeRow.runStartedAt).toISOString() : null,
            },
          }
        : null,
      last: lastRow ? asDeployment(lastRow) : null,
      awaitingMe: mine,
      awaitingApproval: here.length,
    };
  });
}

/** The recorded state of one environment (the environment pages' drift and compliance line). */
export async function recordedStatus(db: StoreExecutor, environment: string) {
  const [row] = await db
    .select({ status: environmentStatus })
    .from(environmentStatus)
    .innerJoin(environments, eq(environments.id, environmentStatus.environmentId))
    .where(eq(environments.name, environment));
  return row?.status ?? null;
}

/** Recorded state of every environment, keyed by name. */
export async function recordedStatuses(db: StoreExecutor) {
  const rows = await db
    .select({ name: environments.name, status: environmentStatus })
    .from(environmentStatus)
    .innerJoin(environments, eq(environments.id, environmentStatus.environmentId));
  return new Map(rows.map((r) => [r.name, r.status]));
}

/** For charts: apply durations of the environment's finished runs, oldest first. */
export async function runDurations(db: StoreExecutor, environment: string, limit = 30) {
  const rows = await db
    .select({ number: deployments.number, kind: deployments.kind, state: runs.state, startedAt: runs.startedAt, finishedAt: runs.finishedAt })
    .from(runs)
    .innerJoin(deployments, eq(deployments.id, runs.deploymentId))
    .innerJoin(environments, eq(environments.id, deployments.environmentId))
    .where(and(eq(environments.name, environment), sql`${runs.finishedAt} is not null`))
    .orderBy(desc(runs.startedAt))
    .limit(limit);
  return rows.reverse().map((r) => ({ number: r.number, kind: r.kind, state: r.state, at: r.startedAt, durationMs: r.finishedAt!.getTime() - r.startedAt.getTime() }));
}
