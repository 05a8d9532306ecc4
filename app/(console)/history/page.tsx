import { formatDateTime, zoneLabel } from "@/lib/format";
import { PageHeader } from "@/components/ui/page-header";
import { runPeople } from "@/lib/deployments/service";
import { runtime } from "@/app/_server/runtime";
import { environmentHistory } from "@/lib/targets/history";

export const metadata = { title: "History" };


export default async function HistoryPage() {
  const histories = await Promise.all(runtime().config.registry.environments.map(environmentHistory));
  const rows = histories
    .flatMap((h) => (h.ok ? h.rows.map((r) => ({ ...r, environment: h.environment.label })) : []))
    .sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime())
    .slice(0, 500);
  const people = await runPeople(runtime().store.db, rows.map((r) => r.runId));
  return (
    <>
      <PageHeader
        title="History"
        description={`Every migration applied or rolled back on every environment, as each target's ledger records it: through a deployment, the CLI or the demo set-up. By is who started the apply or rollback, Author who opened its deployment. Times in ${zoneLabel(runtime().config.timeZone)}.`}
      />
      {histories
        .filter((h) => !h.ok)
        .map((h) => (
          <p key={h.environment.name} role="alert" className="mb-2 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
            {h.environment.label}: {h.ok ? "" : h.error}
          </p>
        ))}
      <table className="w-full rounded-lg border border-slate-200 bg-white text-left text-sm" aria-label="Migration history">
        <thead className="bg-slate-50 text-xs uppercase text-slate-500">
          <tr>
            <th className="px-3 py-2">Finished</th>
            <th>Environment</th>
            <th>Change</th>
            <th>By</th>
            <th>Author</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {rows.map((r) => (
            <tr key={`${r.environment}-${r.runId}-${r.tag}-${r.direction}`}>
              <td className="px-3 py-2 whitespace-nowrap">{formatDateTime(r.finishedAt, runtime().config.timeZone)}</td>
              <td>{r.environment}</td>
              <td className="font-mono text-xs">
                {r.direction === "up" ? "applied" : "rolled back"} {r.tag}
              </td>
              <td>{people.get(r.runId) ? `${people.get(r.runId)!.startedBy} via deployment #${people.get(r.runId)!.deploymentNumber}` : r.actor}</td>
              <td>{people.get(r.runId)?.author ?? "—"}</td>
              <td>{r.durationMs} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
