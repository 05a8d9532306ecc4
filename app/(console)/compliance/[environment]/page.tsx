import Link from "next/link";
import { notFound } from "next/navigation";
import { CheckEvidence } from "@/components/compliance/check-evidence";
import { VerificationHeatmap } from "@/components/charts/verification-heatmap";
import { Card } from "@/components/ui/card";
import { formatDate, formatDateTime, zoneLabel } from "@/lib/format";
import { verificationMatrix } from "@/lib/verify/board";
import { PageHeader } from "@/components/ui/page-header";
import { can } from "@/lib/auth/permissions";
import { runtime } from "@/app/_server/runtime";
import { pageActor } from "@/app/_server/session";
import { GROUPS } from "@/lib/verify";
import { reportOf, snapshotHistory } from "@/lib/verify/snapshots";

export const metadata = { title: "Compliance evidence" };

export default async function EnvironmentCompliancePage({ params }: { params: Promise<{ environment: string }> }) {
  const { environment } = await params;
  const { actor } = await pageActor("compliance:read");
  const { store, config } = runtime();
  const env = config.registry.byName(environment);
  if (!env) notFound();
  const [[snapshot], matrix] = await Promise.all([snapshotHistory(store, env.name, { limit: 1 }), verificationMatrix(store, env.name)]);
  const stored = snapshot ? reportOf(snapshot) : null;
  const from = formatDate(Date.now() - 30 * 86400_000, config.timeZone);
  const to = formatDate(Date.now(), config.timeZone);
  return (
    <>
      <PageHeader
        title={`Compliance of ${env.label}`}
        description={snapshot ? `Verified ${formatDateTime(snapshot.createdAt, config.timeZone)} (${snapshot.trigger}) at ${snapshot.targetVersion ?? "no version"}: ${snapshot.outcome}. Times and export days in ${zoneLabel(config.timeZone)}.` : "Never verified yet."}
        actions={
          can(actor.role, "evidence:export") && (
          <form action="/api/compliance/export" method="get" className="flex flex-wrap items-end gap-2 text-sm" aria-label="Export evidence">
            <input type="hidden" name="environment" value={env.name} />
            <label>
              From <input type="date" name="from" defaultValue={from} className="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <label>
              To <input type="date" name="to" defaultValue={to} className="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <button type="submit" className="rounded-md bg-slate-900 px-3 py-1.5 font-medium text-white">
              Export evidence
            </button>
          </form>
          )
        }
      />
      {stored && "unreachable" in stored && (
        <p role="alert" className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {stored.unreachable}
        </p>
      )}
      <Card title={<span id="history">Verification over time</span>} className="mb-4">
        <VerificationHeatmap groups={GROUPS} runs={matrix} timeZone={config.timeZone} label={`Verification of ${env.label} over time`} />
      </Card>
      {stored && "report" in stored && (
        <div className="space-y-4">
          {GROUPS.map((g) => (
            <Card key={g.id} title={<span id={g.id}>{g.title}</span>}>
              <div className="space-y-4">
                {stored.report.results
                  .filter((r) => r.group === g.id)
                  .map((r) => (
                    <div key={r.checkId}>
                      <CheckEvidence result={r} />
                      <Link className="text-xs text-brand-700 underline" href={`/compliance/${env.name}/${r.checkId}`}>
                        Full evidence and SQL
                      </Link>
                    </div>
                  ))}
              </div>
            </Card>
          ))}
        </div>
      )}
    </>
  );
}
