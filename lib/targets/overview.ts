/**
 * Everything the Overview shows, read from the store alone (no connection to any target): per
 * environment the state the last verification recorded (version, pending, compliance, drift), the
 * running deployment with its progress, the last finished one, and what waits on the viewer's role.
 * One indexed statement whatever the number of environments and deployments.
 */
import { and, desc, eq, getTableName, sql } from "drizzle-orm";
import type { Actor } from "../auth/users";
import type { EnvironmentRegistry } from "../config/environments";
import { approvalProgress, decide, type GateApproval } from "../gates/rules";
import { preparedRows, type StoreExecutor } from "../store/db";
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

/**
 * One deployment as the Overview lists it, built in the store as JSON. The plan is read once per row
 * (jsonb_to_record): every `plan->…` on its own would decompress the whole stored plan again.
 */
const deploymentJson = (d: string, author: string, plan: string) => `
  'id', ${d}.id, 'number', ${d}.number, 'environmentId', ${d}.environment_id, 'kind', ${d}.kind, 'state', ${d}.state,
  'createdBy', ${d}.created_by, 'planHash', ${d}.plan_hash, 'planRevision', ${d}.plan_revision,
  'from', ${plan}."from", 'to', ${plan}."to", 'migrations', coalesce(jsonb_array_length(${plan}.migrations), 0),
  'requiresComplianceSignoff', coalesce(${plan}."requiresComplianceSignoff", false),
  'blocked', coalesce(jsonb_array_length(${plan}.blockers), 0) > 0,
  'rehearsalOk', coalesce((${plan}.rehearsal->>'ok')::boolean, false),
  'verification', ${d}.verification, 'createdAt', ${d}.created_at, 'updatedAt', ${d}.updated_at,
  'authorName', ${author}.name, 'authorEmail', ${author}.email`;
const planFields = `("from" text, "to" text, migrations jsonb, "requiresComplianceSignoff" boolean, blockers jsonb, rehearsal jsonb)`;

/**
 * Everything the Overview reads, in ONE statement whatever the number of environments and
 * deployments: per environment its recorded status and three index probes (the active deployment by
 * its unique partial index, the newest finished one by a backwards walk of its partial index, the
 * ones awaiting review by (environment, state)); a running deployment's progress from its run's
 * first and latest log lines by (run, id). No parameters: planned once per store connection (preparedRows).
 */
const OVERVIEW_SQL = `
  select e.id as "environmentId", e.name,
    case when s.environment_id is null then null else json_build_object(
      'currentVersion', s.current_version, 'pendingCount', s.pending_count, 'ledgerProblems', s.ledger_problems,
      'reachable', s.reachable, 'serverVersion', s.server_version, 'error', s.error,
      'verification', json_build_object('id', s.verification_id, 'outcome', s.verification_outcome, 'at', s.verification_at, 'failingGroups', s.failing_groups),
      'drift', s.drift, 'driftSince', s.drift_since, 'updatedAt', s.updated_at) end as status,
    active.deployment as running, finished.deployment as last, coalesce(waiting.deployments, '[]'::json) as waiting
  from ${getTableName(environments)} e
  left join ${getTableName(environmentStatus)} s on s.environment_id = e.id
  left join lateral (
    select json_build_object(${deploymentJson("d", "u", "p")},
      'progressTotal', (select (ev.payload->>'statements')::int from ${getTableName(runEvents)} ev
                        where ev.run_id = run.id and ev.type = 'run_started' order by ev.id limit 1),
      'progressDone', (select (ev.payload->>'done')::int from ${getTableName(runEvents)} ev
                       where ev.run_id = run.id and ev.type = 'statement_finished' order by ev.id desc limit 1),
      'runStartedAt', run.started_at) as deployment
    from ${getTableName(deployments)} d
    join ${getTableName(users)} u on u.id = d.created_by
    cross join lateral jsonb_to_record(d.plan) as p${planFields}
    left join lateral (
      select r.id, r.started_at from ${getTableName(runs)} r where r.deployment_id = d.id and r.state = 'running' order by r.started_at desc limit 1
    ) run on true
    where d.environment_id = e.id and d.state in ('queued', 'running')
    limit 1
  ) active on true
  left join lateral (
    select json_build_object(${deploymentJson("d", "u", "p")}) as deployment
    from (
      -- A range, not "=": with an equality the planner drops environment_id from the ordering and,
      -- assuming environments interleave evenly, walks every number backwards (a rarely deployed
      -- environment then costs a scan of all deployments); this way it walks the partial index.
      select l.id from ${getTableName(deployments)} l
      where l.environment_id >= e.id and l.environment_id <= e.id and l.state in ('succeeded', 'failed')
      order by l.environment_id desc, l.number desc limit 1
    ) latest
    join ${getTableName(deployments)} d on d.id = latest.id
    join ${getTableName(users)} u on u.id = d.created_by
    cross join lateral jsonb_to_record(d.plan) as p${planFields}
  ) finished on true
  left join lateral (
    select json_agg(json_build_object(${deploymentJson("d", "u", "p")},
      'approvals', coalesce((select json_agg(json_build_object('userId', a.user_id, 'userName', au.name, 'userEmail', au.email, 'kind', a.kind,
                                                               'planHash', a.plan_hash, 'planRevision', a.plan_revision))
                             from ${getTableName(approvals)} a join ${getTableName(users)} au on au.id = a.user_id where a.deployment_id = d.id), '[]'::json)
    ) order by d.number) as deployments
    from ${getTableName(deployments)} d
    join ${getTableName(users)} u on u.id = d.created_by
    cross join lateral jsonb_to_record(d.plan) as p${planFields}
    where d.environment_id = e.id and d.state = 'awaiting_approval'
  ) waiting on true`;

/** A deployment as the statement above builds it (timestamps are JSON strings). */
interface DeploymentRow {
  id: string;
  number: number;
  environmentId: string;
  kind: "apply" | "rollback";
  state: DeploymentState;
  createdBy: string;
  planHash: string;
  planRevision: number;
  from: string | null;
  to: string | null;
  migrations: number;
  requiresComplianceSignoff: boolean;
  blocked: boolean;
  rehearsalOk: boolean;
  verification: string | null;
  createdAt: string;
  updatedAt: string;
  authorName: string;
  authorEmail: string;
}

interface EnvironmentRow extends Record<string, unknown> {
  environmentId: string;
  name: string;
  status: (Omit<NonNullable<OverviewEnvironment["status"]>, "verification"> & { verification: NonNullable<OverviewEnvironment["status"]>["verification"] }) | null;
  running: (DeploymentRow & { progressTotal: number | null; progressDone: number | null; runStartedAt: string | null }) | null;
  last: DeploymentRow | null;
  waiting: (DeploymentRow & { approvals: GateApproval[] })[];
}

const iso = (at: string) => new Date(at).toISOString();
const isoOrNull = (at: string | null) => (at === null ? null : iso(at));

function asDeployment(r: DeploymentRow): OverviewDeployment {
  return {
    id: r.id,
    number: Number(r.number),
    kind: r.kind,
    state: r.state,
    from: r.from,
    to: r.to,
    migrations: Number(r.migrations),
    author: { name: r.authorName, email: r.authorEmail },
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    verification: r.verification,
  };
}

export async function environmentsOverview(db: StoreExecutor, registry: EnvironmentRegistry, actor: Pick<Actor, "id" | "role">): Promise<OverviewEnvironment[]> {
  const rows = await preparedRows<EnvironmentRow>(db, OVERVIEW_SQL);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const now = new Date();
  return registry.environments.map((env): OverviewEnvironment => {
    const row = byName.get(env.name);
    const s = row?.status ?? null;
    const activeRow = row?.running ?? null;
    const mine: OverviewEnvironment["awaitingMe"] = [];
    const here = row?.waiting ?? [];
    for (const w of here) {
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
        approvals: w.approvals,
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
            ...s,
            verification: { ...s.verification, at: isoOrNull(s.verification.at) },
            driftSince: isoOrNull(s.driftSince),
            updatedAt: iso(s.updatedAt),
          }
        : null,
      running: activeRow
        ? {
            ...asDeployment(activeRow),
            progress: { done: activeRow.progressDone ?? 0, total: activeRow.progressTotal ?? null, startedAt: isoOrNull(activeRow.runStartedAt) },
          }
        : null,
      last: row?.last ? asDeployment(row.last) : null,
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
