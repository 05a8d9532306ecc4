import { NewDeploymentForm } from "@/components/deployments/new-deployment-form";
import { Forbidden } from "@/components/ui/forbidden";
import { PageHeader } from "@/components/ui/page-header";
import { backfillsDir } from "@/lib/deployments/backfill-plan";
import { listBackfills } from "@/lib/backfills/definition";
import { deploymentDeps, migrationCatalog, runtime } from "@/app/_server/runtime";
import { pageActor } from "@/app/_server/session";
import { environmentStatus } from "@/lib/targets/environment-status";
import { createDeploymentAction } from "../actions";

export const metadata = { title: "New deployment" };

export default async function NewDeploymentPage() {
  const { forbidden } = await pageActor("deployment:create");
  if (forbidden) return <Forbidden message={forbidden.message} />;
  const catalog = await migrationCatalog();
  const { backfills, problems } = await listBackfills(await backfillsDir(deploymentDeps()));
  const statuses = await Promise.all(runtime().config.registry.environments.map((e) => environmentStatus(e, catalog)));
  return (
    <>
      <PageHeader title="New deployment" description="Move one environment to a target migration. The plan is computed now and reviewed before anything runs." />
      {problems.length > 0 && (
        <div role="alert" data-testid="backfill-file-problems" className="mb-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">
          <p className="font-medium">Some backfill files cannot be offered until they are fixed:</p>
          <ul className="list-disc pl-5">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <NewDeploymentForm
        environments={statuses.map((s) => ({
          name: s.environment.name,
          label: s.environment.label,
          current: s.ok ? s.status.current : null,
          pending: s.ok ? s.status.pending.length : 0,
          unreachable: s.ok ? null : s.error,
        }))}
        tags={catalog.migrations.map((m) => m.tag)}
        backfills={backfills.map((b) => ({ name: b.name, description: b.description, table: b.table }))}
        create={createDeploymentAction}
      />
    </>
  );
}
