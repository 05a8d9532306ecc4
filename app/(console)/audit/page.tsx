import { AuditDetails } from "@/components/audit-details";
import { formatDateTime, zoneLabel } from "@/lib/format";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { PageHeader } from "@/components/ui/page-header";
import { verifyAuditChain } from "@/lib/audit/log";
import { auditFilterInput, listAuditEvents } from "@/lib/audit/query";
import { runtime } from "@/app/_server/runtime";
import { can } from "@/lib/auth/permissions";
import { pageActor } from "@/app/_server/session";

export const metadata = { title: "Audit" };


export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const { actor, forbidden } = await pageActor("audit:read");
  if (forbidden) return <Forbidden message={forbidden.message} />;
  const parsed = auditFilterInput.safeParse(await searchParams);
  const filter = parsed.success ? parsed.data : {};
  const { store } = runtime();
  const [events, chain] = await Promise.all([listAuditEvents(store.db, filter, { timeZone: runtime().config.timeZone }), verifyAuditChain(store.db)]);
  const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v) as [string, string][]).toString();
  const input = "rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm";
  return (
    <>
      <PageHeader title="Audit log" description={`Every state change, hash-chained: editing or removing an event breaks the chain. Times in ${zoneLabel(runtime().config.timeZone)}.`} />
      <div className="space-y-6">
        <Card title="Chain verification">
          {chain.ok ? (
            <p data-testid="chain-status" className="text-sm text-emerald-800">
              <Badge tone="ok">Intact</Badge> All {chain.checked} events link to their predecessor and match their hashes.
            </p>
          ) : (
            <p data-testid="chain-status" role="alert" className="text-sm text-red-800">
              <Badge tone="error">Broken</Badge> {chain.reason}. Events after #{chain.brokenAt} cannot be trusted as recorded.
            </p>
          )}
        </Card>
        <form className="flex flex-wrap items-end gap-3" aria-label="Filter audit events">
          <label className="text-sm">
            Action <input name="action" defaultValue={filter.action} placeholder="deployment." className={input} />
          </label>
          <label className="text-sm">
            Actor <input name="actor" defaultValue={filter.actor} placeholder="email" className={input} />
          </label>
          <label className="text-sm">
            From <input type="date" name="from" defaultValue={filter.from} className={input} />
          </label>
          <label className="text-sm">
            To <input type="date" name="to" defaultValue={filter.to} className={input} />
          </label>
          <button type="submit" className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm">
            Filter
          </button>
          {can(actor.role, "audit:export") && (
            <>
              <a className="text-sm text-brand-700 underline" href={`/api/audit/export?format=csv&${query}`}>
                Export CSV
              </a>
              <a className="text-sm text-brand-700 underline" href={`/api/audit/export?format=json&${query}`}>
                Export JSON
              </a>
            </>
          )}
        </form>
        <table className="w-full rounded-lg border border-slate-200 bg-white text-left text-sm" aria-label="Audit events">
          <thead className="bg-slate-50 text-xs uppercase text-slate-500">
            <tr>
              <th className="px-3 py-2">#</th>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 align-top">
            {events.map((e) => (
              <tr key={e.id}>
                <td className="px-3 py-2 text-slate-500">{e.id}</td>
                <td className="whitespace-nowrap pr-3">{formatDateTime(e.occurredAt, runtime().config.timeZone)}</td>
                <td className="pr-3">{e.actorEmail ?? "system"}</td>
                <td className="pr-3 font-mono text-xs">{e.action}</td>
                <td className="max-w-xl">
                  <AuditDetails details={e.details} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
