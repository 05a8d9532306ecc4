import Link from "next/link";
import { DriftBadge } from "@/components/drift-summary";
import { Badge } from "@/components/ui/badge";
import { recordedStatuses } from "@/lib/targets/overview";
import { PageHeader } from "@/components/ui/page-header";
import { migrationCatalog, runtime } from "@/app/_server/runtime";
import { environmentStatus } from "@/lib/targets/environment-status";

export const metadata = { title: "Environments" };

export default async function EnvironmentsPage() {
  const catalog = await migrationCatalog();
  const [statuses, recorded] = await Promise.all([
    Promise.all(runtime().config.registry.environments.map((e) => environmentStatus(e, catalog))),
    recordedStatuses(runtime().store.db),
  ]);
  return (
    <>
      <PageHeader
        title="Environments"
        description={`Migration state per environment against the ${catalog.migrations.length} migrations in this release (latest ${catalog.latest?.tag ?? "none"}).`}
      />
      <div className="overflow-hidden rounded-lg border border-slate-200 bg-white">
        <table className="w-full text-left text-sm">
          <thead className="bg-slate-50 text-xs uppercase text-slate-500">
            <tr>
              <th className="px-4 py-2">Environment</th>
              <th className="px-4 py-2">Current version</th>
              <th className="px-4 py-2">Pending</th>
              <th className="px-4 py-2">Ledger</th>
              <th className="px-4 py-2">Drift</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {statuses.map((s) => (
              <tr key={s.environment.name} aria-label={`Environment ${s.environment.label}`}>
                <td className="px-4 py-3 font-medium">
                  <Link className="text-brand-700 underline" href={`/environments/${s.environment.name}`}>
                    {s.environment.label}
                  </Link>
                </td>
                {s.ok ? (
                  <>
                    <td className="px-4 py-3 font-mono text-xs">{s.status.current ?? "nothing applied"}</td>
                    <td className="px-4 py-3">{s.status.pending.length === 0 ? "up to date" : `${s.status.pending.length} pending`}</td>
                    <td className="px-4 py-3 space-x-1">
                      {s.status.problems.checksumMismatch.length + s.status.problems.outOfOrder.length + s.status.problems.unknown === 0 ? (
                        <Badge tone="ok">consistent</Badge>
                      ) : (
                        <>
                          {s.status.problems.checksumMismatch.length > 0 && <Badge tone="error">{s.status.problems.checksumMismatch.length} edited after apply</Badge>}
                          {s.status.problems.outOfOrder.length > 0 && <Badge tone="warn">{s.status.problems.outOfOrder.length} out of order</Badge>}
                          {s.status.problems.unknown > 0 && <Badge tone="error">{s.status.problems.unknown} not in the files</Badge>}
                        </>
                      )}
                    </td>
                  </>
                ) : (
                  <td colSpan={3} className="px-4 py-3 text-red-800" role="alert">
                    {s.error}
                  </td>
                )}
                <td className="px-4 py-3" data-testid={`drift-${s.environment.name}`}>
                  <DriftBadge drift={recorded.get(s.environment.name)?.drift} />
                  {recorded.get(s.environment.name)?.drift?.drifted && (
                    <ul className="mt-1 text-xs">
                      {recorded.get(s.environment.name)!.drift!.objects.slice(0, 3).map((o) => (
                        <li key={`${o.object}-${o.change}`} className="font-mono">
                          {o.object}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
