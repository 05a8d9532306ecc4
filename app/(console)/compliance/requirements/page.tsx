import Link from "next/link";
import { StatusPill } from "@/components/compliance/status-cell";
import { PageHeader } from "@/components/ui/page-header";
import { runtime } from "@/app/_server/runtime";
import { checkById, checksByControl } from "@/lib/verify";
import { worst, type CellStatus } from "@/lib/verify/board";
import { latestSnapshots, reportOf } from "@/lib/verify/snapshots";

export const metadata = { title: "Requirements" };

export default async function RequirementsPage() {
  const { store, config } = runtime();
  const latest = await latestSnapshots(store);
  const statusOf = (environment: string, checkId: string): CellStatus => {
    const snapshot = latest.get(environment);
    if (!snapshot) return "none";
    const stored = reportOf(snapshot);
    return "report" in stored ? (stored.report.results.find((r) => r.checkId === checkId)?.status ?? "none") : "error";
  };
  const environments = config.registry.environments;
  return (
    <>
      <PageHeader title="Requirements" description="Each legal or regulatory requirement, the checks that evidence it, and their latest status per environment." />
      <table className="w-full rounded-lg border border-slate-200 bg-white text-left text-sm" aria-label="Requirements">
        <thead className="bg-slate-50 text-xs uppercase text-slate-500">
          <tr>
            <th className="px-3 py-2">Requirement</th>
            <th>Checks</th>
            {environments.map((e) => (
              <th key={e.name} className="px-2">
                {e.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 align-top">
          {checksByControl().map((control) => (
            <tr key={control.key}>
              <td className="px-3 py-2">
                <div className="font-medium">{control.key}</div>
                <div className="text-xs text-slate-600">{control.title}</div>
              </td>
              <td className="py-2 text-xs">
                <ul className="space-y-0.5">
                  {control.checks.map((id) => (
                    <li key={id}>{checkById(id)?.title ?? id}</li>
                  ))}
                </ul>
              </td>
              {environments.map((e) => (
                <td key={e.name} className="px-2 py-2">
                  <Link href={`/compliance/${e.name}`} aria-label={`${control.key} on ${e.label}`}>
                    <StatusPill status={worst(control.checks.map((id) => statusOf(e.name, id)))} />
                  </Link>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
