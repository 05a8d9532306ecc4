import { notFound } from "next/navigation";
import { DurationChart } from "@/components/charts/duration-chart";
import { VerificationHeatmap } from "@/components/charts/verification-heatmap";
import { DriftDetails } from "@/components/drift-summary";
import { MigrationStateBadge } from "@/components/migration-state-badge";
import { PartialState } from "@/components/environments/partial-state";
import { formatDateTime, plural, zoneLabel } from "@/lib/format";
import { recordedStatus, runDurations } from "@/lib/targets/overview";
import { GROUPS } from "@/lib/verify/registry";
import { verificationMatrix } from "@/lib/verify/board";
import { SqlBlock } from "@/components/sql-block";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { BackupsTable } from "@/components/environments/backups-table";
import { readBackups } from "@/lib/executor/backup";
import { runPeople } from "@/lib/deployments/service";
import { migrationCatalog, runtime } from "@/app/_server/runtime";
import { environmentStatus } from "@/lib/targets/environment-status";

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }) {
  return { title: `Environment ${(await params).name}` };
}

export default async function EnvironmentPage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  const environment = runtime().config.registry.byName(name);
  if (!environment) notFound();
  const { config, store } = runtime();
  const catalog = await migrationCatalog();
  const [result, recorded, matrix, durations] = await Promise.all([
    environmentStatus(environment, catalog),
    recordedStatus(store.db, environment.name),
    verificationMatrix(store, environment.name),
    runDurations(store.db, environment.name),
  ]);
  const tz = config.timeZone;
  const groupTitles = Object.fromEntries(GROUPS.map((g) => [g.id, g.title]));
  const pictures = (
    <>
      <Card title="Drift">
        <DriftDetails drift={recorded?.drift ?? null} since={recorded?.driftSince ?? null} timeZone={tz} groupTitles={groupTitles} />
      </Card>
      <Card title="Verification over time">
        <VerificationHeatmap groups={GROUPS} runs={matrix} timeZone={tz} label={`Verification of ${environment.label} over time`} />
      </Card>
      <Card title="Apply durations">
        <DurationChart points={durations} timeZone={tz} label={`Apply durations on ${environment.label}`} />
      </Card>
    </>
  );

  if (!result.ok) {
    return (
      <>
        <PageHeader title={environment.label} />
        <div className="space-y-6">
          <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-red-900">
            {result.error}
          </div>
          {pictures}
        </div>
      </>
    );
  }
  const { status } = result;
  const backups = await readBackups(environment.url!).catch(() => null);
  const applied = status.migrations.filter((m) => m.state === "applied" || m.state === "checksum_mismatch");
  const waiting = status.migrations.filter((m) => m.state === "pending" || m.state === "partially_applied" || m.state === "out_of_order");
  const flagged = status.migrations.filter((m) => m.state === "checksum_mismatch" || m.state === "out_of_order" || m.state === "partially_applied");
  const people = await runPeople(runtime().store.db, applied.map((m) => m.runId));

  return (
    <>
      <PageHeader
        title={environment.label}
        description={`At ${status.current ?? "no migration yet"}; ${waiting.length === 0 ? "up to date" : `${plural(waiting.length, "migration")} waiting`}. Times in ${zoneLabel(tz)}.`}
      />
      <div className="space-y-6">
        {pictures}
        {(flagged.length > 0 || status.unknown.length > 0) && (
          <Card title="Needs attention" label="Needs attention">
            <ul className="space-y-2 text-sm">
              {flagged.map((m) => (
                <li key={m.tag}>
                  <MigrationStateBadge state={m.state} /> <span className="font-mono">{m.tag}</span>: {m.explanation}
                  {m.partial && <PartialState tag={m.tag} partial={m.partial} />}
                </li>
              ))}
              {status.unknown.map((u) => (
                <li key={u.createdAt}>
                  <MigrationStateBadge state="unknown" /> <span className="font-mono">{u.tag ?? u.hash.slice(0, 12)}</span>: {u.explanation}
                </li>
              ))}
            </ul>
          </Card>
        )}

        <Card title={`Applied (${applied.length})`}>
          {applied.length === 0 ? (
            <p className="text-sm text-slate-600">Nothing applied yet.</p>
          ) : (
            <table className="w-full text-left text-sm" aria-label="Applied migrations">
              <thead className="text-xs uppercase text-slate-500">
                <tr>
                  <th className="py-2">Migration</th>
                  <th>Applied at</th>
                  <th>By</th>
                  <th>Author</th>
                  <th>Duration</th>
                  <th>Checksum</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {applied.map((m) => (
                  <tr key={m.tag}>
                    <td className="py-2 font-mono text-xs">{m.tag}</td>
                    <td>{m.appliedAt ? formatDateTime(m.appliedAt, tz) : "unknown (applied outside the console)"}</td>
                    <td>{m.runId && people.get(m.runId) ? `${people.get(m.runId)!.startedBy} via deployment #${people.get(m.runId)!.deploymentNumber}` : (m.appliedBy ?? "unknown")}</td>
                    <td>{(m.runId && people.get(m.runId)?.author) || "—"}</td>
                    <td>{m.durationMs !== null ? `${m.durationMs} ms` : "?"}</td>
                    <td>
                      <MigrationStateBadge state={m.state} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>

        <section aria-label="Pending migrations" className="space-y-4">
          <h2 className="text-lg font-semibold">Waiting ({waiting.length})</h2>
          {waiting.length === 0 && <p className="text-sm text-slate-600">Nothing waiting: this environment runs the latest migration.</p>}
          {waiting.map((m) => {
            const migration = catalog.byTag(m.tag)!;
            return (
              <Card
                key={m.tag}
                title={
                  <span className="font-mono">
                    {m.tag} <MigrationStateBadge state={m.state} />
                  </span>
                }
              >
                <p className="mb-2 text-xs text-slate-600">
                  {plural(migration.statements.length, "statement")}
                  {migration.statements.some((s) => !s.analysis.transactional) ? ", runs outside a transaction (CONCURRENTLY)" : ", one transaction"}
                  {m.state === "out_of_order" ? `. ${m.explanation}` : ""}
                </p>
                <SqlBlock sql={migration.sql} label={`SQL of ${m.tag}`} />
              </Card>
            );
          })}
        </section>

        <section aria-label="Backups of destroyed data">
          <Card title="Backups of destroyed data">
            {backups ? <BackupsTable backups={backups} timeZone={tz} /> : <p className="text-sm text-red-800">The target&apos;s backup ledger could not be read.</p>}
          </Card>
        </section>
      </div>
    </>
  );
}
