import { notFound } from "next/navigation";
import { BackfillPlanView } from "@/components/deployments/backfill-plan";
import { BackfillProgress } from "@/components/deployments/backfill-progress";
import { DeploymentActions } from "@/components/deployments/deployment-actions";
import { DestroysTable } from "@/components/deployments/destroys-table";
import { FindingsTable } from "@/components/deployments/findings-table";
import { PlanMigrations } from "@/components/deployments/plan-migrations";
import { RunLog } from "@/components/deployments/run-log";
import { SchemaDiffView } from "@/components/deployments/schema-diff-view";
import { BlockingBanner, RiskSummaryCard, Timeline } from "@/components/deployments/review-summary";
import { DeploymentStateBadge } from "@/components/deployments/state-badge";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { backfillView } from "@/lib/deployments/backfill-control";
import { hasRunState, isOpenState } from "@/lib/store/schema/deployment-states";
import { deploymentView } from "@/lib/deployments/service";
import { can } from "@/lib/auth/permissions";
import { AppError } from "@/lib/errors";
import { formatDateTime } from "@/lib/format";
import { deploymentDeps, runtime } from "@/app/_server/runtime";
import { pageActor } from "@/app/_server/session";
import {
  applyDeploymentAction,
  approveDeploymentAction,
  cancelDeploymentAction,
  rejectDeploymentAction,
  replanDeploymentAction,
  rollbackDeploymentAction,
  signoffDeploymentAction,
} from "../actions";
import { cancelBackfillAction, pauseBackfillAction, resumeBackfillAction } from "../actions";

export const metadata = { title: "Deployment" };


/** `id` is the deployment's id or its number (`/deployments/3`); an unknown one is the styled 404. */
export default async function DeploymentPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ existing?: string }> }) {
  const { id } = await params;
  const { existing } = await searchParams;
  const { actor } = await pageActor();
  let view;
  try {
    view = await deploymentView(deploymentDeps(), actor, id);
  } catch (e) {
    if (e instanceof AppError && e.code === "not_found") notFound();
    throw e;
  }
  const { deployment, environment, progress } = view;
  const timeZone = runtime().config.timeZone;
  const plan = deployment.plan;
  const backfill = deployment.kind === "backfill" ? await backfillView(deploymentDeps().store.db, actor, deployment.id) : null;

  return (
    <>
      <PageHeader
        title={`Deployment #${deployment.number}: ${environment.label}`}
        description={
          <>
            {deployment.kind === "backfill" ? `Backfill ${deployment.backfillName} at ${plan.from ?? "an empty database"}` : `${deployment.kind === "rollback" ? "Roll back" : "Apply"} ${plan.from ?? "an empty database"} → ${plan.to ?? "empty"}`} · opened by {view.author.name} on{" "}
            {formatDateTime(deployment.createdAt, timeZone)}
            {view.startedBy && <> · started by {view.startedBy.name}</>} · plan <code className="text-xs">{deployment.planHash.slice(0, 12)}</code> (revision {deployment.planRevision})
          </>
        }
        actions={
          <span className="flex gap-2">
            {view.stale && (
              <span data-testid="stale-badge">
                <Badge tone="error">Stale</Badge>
              </span>
            )}
            <DeploymentStateBadge state={deployment.state} verification={deployment.verification} />
          </span>
        }
      />
      <div className="space-y-6">
        {existing && (
          <p role="status" className="rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-900">
            {environment.label} already had this deployment open (#{deployment.number}): nothing new was planned.
          </p>
        )}
        <BlockingBanner blocking={view.blocking} />
        <RiskSummaryCard risk={view.risk} complianceRequired={progress.compliance.required} />
        <Card title="Review and run">
          <div className="mb-4 grid gap-2 text-sm md:grid-cols-2" aria-label="Approvals">
            <div>
              <span className="font-medium">Release-manager approvals:</span> {progress.releaseApprovals.have} of {progress.releaseApprovals.need}
              {progress.releaseApprovals.by.length > 0 && ` (${progress.releaseApprovals.by.join(", ")})`}
            </div>
            <div>
              <span className="font-medium">Compliance sign-off:</span>{" "}
              {progress.compliance.required ? (progress.compliance.given ? `given (${progress.compliance.by.join(", ")})` : "required, not given") : "not required"}
            </div>
            {progress.waitingOn.length > 0 && isOpenState(deployment.state) && (
              <div className="md:col-span-2 text-amber-800" data-testid="waiting-on">
                Waiting for {progress.waitingOn.join(" and ")}.
              </div>
            )}
            {deployment.rejectReason && <div className="md:col-span-2 text-red-800">Rejected: {deployment.rejectReason}</div>}
          </div>
          <DeploymentActions
            id={deployment.id}
            decisions={view.decisions}
            calls={{
              approve: approveDeploymentAction,
              signoff: signoffDeploymentAction,
              reject: rejectDeploymentAction,
              apply: applyDeploymentAction,
              cancel: cancelDeploymentAction,
              replan: replanDeploymentAction,
              rollback: rollbackDeploymentAction,
            }}
          />
          {view.approvals.length > 0 && (
            <ul className="mt-4 space-y-1 text-xs text-slate-600" aria-label="Approval history">
              {view.approvals.map((a) => (
                <li key={a.id}>
                  {a.kind === "release_approval" ? "Approved" : "Signed off"} by {a.userName} ({a.userEmail}) on {formatDateTime(a.createdAt, timeZone)} for plan{" "}
                  <code>{a.planHash.slice(0, 12)}</code> revision {a.planRevision} {a.current ? "" : <Badge tone="neutral">void: the plan changed</Badge>}
                  {a.comment && `: “${a.comment}”`}
                </li>
              ))}
            </ul>
          )}
        </Card>

        {backfill && ["queued", "running", "succeeded", "failed", "cancelled"].includes(deployment.state) && (
          <Card title="Backfill progress">
            <BackfillProgress initial={backfill} calls={{ pause: pauseBackfillAction, resume: resumeBackfillAction, cancel: cancelBackfillAction }} timeZone={timeZone} />
          </Card>
        )}

        <Card title="Timeline">
          <Timeline entries={view.timeline} format={(d) => formatDateTime(d, timeZone)} />
        </Card>

        {hasRunState(deployment.state) && (
          <Card
            title="Run log"
            actions={
              deployment.schemaBefore && can(actor.role, "deployment:schema-before") && (
                <a className="text-xs text-brand-700 underline" href={`/api/deployments/${deployment.id}/schema-before`}>
                  Schema before the run (SQL)
                </a>
              )
            }
          >
            <RunLog deploymentId={deployment.id} initialState={deployment.state} initialVerification={deployment.verification} timeZone={timeZone} />
          </Card>
        )}

        {plan.drift.drifted && (
          <Card title="Schema drift">
            <p className="mb-3 text-sm text-amber-900">{plan.drift.explanation}</p>
            {plan.drift.diff && <SchemaDiffView diff={plan.drift.diff} label="Drift between the migrations and the live schema" />}
          </Card>
        )}

        <Card title={`Findings (${plan.findings.length})`}>
          <FindingsTable findings={plan.findings} />
        </Card>

        {plan.destroys && (
          <Card title={`Data destroyed (${plan.destroys.length})`}>
            <DestroysTable destroys={plan.destroys} declined={deployment.backupDeclinedReason} />
          </Card>
        )}

        {plan.backfill && (
          <Card title={`Backfill: ${plan.backfill.name}`}>
            <BackfillPlanView plan={plan.backfill} environmentLabel={environment.label} />
          </Card>
        )}

        {!plan.backfill && (
          <>
            <Card title="Rehearsal">
              <p className="text-sm text-slate-700">
                {plan.rehearsal.ok
                  ? `Rehearsed on a throw-away database holding ${environment.label}'s schema in ${plan.rehearsal.durationMs} ms (timings below are on empty tables: they show lock order and cost of DDL, not of rewriting data).`
                  : `The rehearsal failed: ${plan.rehearsal.error}`}
              </p>
            </Card>

            <Card title={`Migrations (${plan.migrations.length})`}>
              <PlanMigrations migrations={plan.migrations} />
            </Card>

            <Card title="Schema diff">{plan.schemaDiff ? <SchemaDiffView diff={plan.schemaDiff} label="Schema diff" /> : <p className="text-sm text-slate-600">Not available.</p>}</Card>
          </>
        )}
      </div>
    </>
  );
}
