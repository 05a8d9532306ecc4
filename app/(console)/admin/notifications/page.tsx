import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { PageHeader } from "@/components/ui/page-header";
import { formatDateTime, plural, zoneLabel } from "@/lib/format";
import { recentDeliveries, undispatchedCount } from "@/lib/notifications";
import { runtime } from "@/app/_server/runtime";
import { pageActor } from "@/app/_server/session";

export const metadata = { title: "Notifications" };

const TONE = { delivered: "ok", pending: "warn", failed: "error" } as const;

export default async function NotificationsPage() {
  const { forbidden } = await pageActor("admin:notifications");
  if (forbidden) return <Forbidden message={forbidden.message} />;
  const { store, config } = runtime();
  const [deliveries, waiting] = await Promise.all([recentDeliveries(store.db), undispatchedCount(store.db)]);
  const channels = config.registry.notifications;
  return (
    <>
      <PageHeader
        title="Notifications"
        description={`Where the console tells people what needs them, and what each delivery did. Times in ${zoneLabel(config.timeZone)}.`}
        actions={
          <Link href="/admin" className="text-sm font-medium text-brand-700 underline">
            Users and roles
          </Link>
        }
      />
      <div className="space-y-6">
        <Card title={`Channels (${channels.length})`}>
          {channels.length === 0 ? (
            <p className="text-sm text-slate-600">
              None configured: add a top-level <code>notifications</code> list to the registry file, e.g.{" "}
              <code>{`{ "urlEnv": "SLACK_WEBHOOK_URL", "format": "slack", "events": ["deployment_failed"] }`}</code>.
            </p>
          ) : (
            <ul className="space-y-1 text-sm">
              {channels.map((c) => (
                <li key={c.index}>
                  <span className="font-mono">{c.urlEnv}</span> ({c.format}) {c.url ? <Badge tone="ok">URL set</Badge> : <Badge tone="error">{c.urlEnv} is not set</Badge>}{" "}
                  <span className="text-slate-600">{c.events.join(", ")}</span>
                </li>
              ))}
            </ul>
          )}
          {waiting > 0 && <p className="mt-2 text-sm text-amber-800">{plural(waiting, "event")} not yet handed to a channel: is a worker running?</p>}
        </Card>
        <Card title="Recent deliveries">
          {deliveries.length === 0 ? (
            <p className="text-sm text-slate-600">No delivery yet.</p>
          ) : (
            <table className="w-full text-left text-sm" aria-label="Recent deliveries">
              <thead className="text-xs uppercase text-slate-500">
                <tr>
                  <th className="py-2">When</th>
                  <th>Event</th>
                  <th>Channel</th>
                  <th>Result</th>
                  <th>Attempts</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {deliveries.map((d) => (
                  <tr key={d.id} className="align-top">
                    <td className="whitespace-nowrap py-2 pr-2">{formatDateTime(d.createdAt, config.timeZone)}</td>
                    <td className="pr-2">
                      <span className="font-medium">{d.event.replace(/_/g, " ")}</span> · {d.environment}
                      <span className="block text-xs text-slate-600">{d.summary}</span>
                    </td>
                    <td className="pr-2 font-mono text-xs">
                      {d.urlEnv} ({d.format})
                    </td>
                    <td className="pr-2">
                      <Badge tone={TONE[d.state as keyof typeof TONE] ?? "neutral"}>{d.state}</Badge>
                      {d.lastError && <span className="block text-xs text-red-800">{d.lastError}</span>}
                      {d.deliveredAt && <span className="block text-xs text-slate-500">{formatDateTime(d.deliveredAt, config.timeZone)}</span>}
                    </td>
                    <td>{d.attempts}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </>
  );
}
