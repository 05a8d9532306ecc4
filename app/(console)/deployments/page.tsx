import { formatDateTime } from "@/lib/format";
import Link from "next/link";
import { DeploymentStateBadge } from "@/components/deployments/state-badge";
import { PageHeader } from "@/components/ui/page-header";
import { listDeployments } from "@/lib/deployments/service";
import { can } from "@/lib/auth/permissions";
import { runtime } from "@/app/_server/runtime";
import { pageActor } from "@/app/_server/session";
import { DEPLOYMENT_STATES, type DeploymentState } from "@/lib/store/schema/deployments";

export const metadata = { title: "Deployments" };


export default async function DeploymentsPage({ searchParams }: { searchParams: Promise<{ environment?: string; state?: string }> }) {
  const params = await searchParams;
  const { actor } = await pageActor("deployment:read");
  const { config, store } = runtime();
  const state = DEPLOYMENT_STATES.includes(params.state as DeploymentState) ? (params.state as DeploymentState) : undefined;
  const environment = config.registry.byName(params.environment ?? "")?.name;
  const rows = await listDeployments(store.db, { environment, state });
  const select = "rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm";
  return (
    <>
      <PageHeader
        title="Deployments"
        description="Every request to move an environment, with its plan, approvals and run."
        actions={
          can(actor.role, "deployment:create") && (
            <Link href="/deployments/new" className="rounded-md bg-slate-900 px-4 py-2 text-sm font-medium text-white">
              New deployment
            </Link>
          )
        }
      />
      <form className="mb-4 flex flex-wrap items-end gap-3" aria-label="Filter deployments">
        <label className="text-sm text-slate-700">
          Environment{" "}
          <select name="environment" defaultValue={environment ?? ""} className={select}>
            <option value="">All</option>
            {config.registry.environments.map((e) => (
              <option key={e.name} value={e.name}>
                {e.label}
              </option>
            ))}
          </select>
        </label>
        <label className="text-sm text-slate-700">
          State{" "}
          <select name="state" defaultValue={state ?? ""} className={select}>
            <option value="">All</option>
            {DEPLOYMENT_STATES.map((s) => (
              <option key={s} value={s}>
                {s.replace("_", " ")}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm">
          Filter
        </button>
      </form>
      {rows.length === 0 ? (
        <p className="text-sm text-slate-600">No deployments match.</p>
      ) : (
        <table className="w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-left text-sm" aria-label="Deployments">
          <thead className="bg-slate-50 text-xs uppercase text-slate-500">
            <tr>
              <th className="px-3 py-2">#</th>
              <th>Environment</th>
              <th>Change</th>
              <th>State</th>
              <th>Author</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {rows.map((d) => (
              <tr key={d.id}>
                <td className="px-3 py-2">
                  <Link className="font-medium text-brand-700 underline" href={`/deployments/${d.id}`}>
                    #{d.number}
                  </Link>
                </td>
                <td>{d.environment}</td>
                <td className="font-mono text-xs">
                  {d.kind === "backfill" ? (
                    `backfill ${d.backfillName} (${d.findings} finding${d.findings === 1 ? "" : "s"})`
                  ) : (
                    <>
                      {d.kind === "rollback" ? "rollback " : ""}
                      {d.from ?? "empty"} → {d.targetTag ?? "empty"} ({d.migrations} migration{d.migrations === 1 ? "" : "s"}, {d.findings} finding{d.findings === 1 ? "" : "s"})
                    </>
                  )}
                </td>
                <td>
                  <DeploymentStateBadge state={d.state} verification={d.verification} />
                </td>
                <td>{d.author}</td>
                <td>{formatDateTime(d.updatedAt, runtime().config.timeZone)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
