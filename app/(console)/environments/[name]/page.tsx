import { notFound } from "next/navigation";
import { MigrationStateBadge } from "@/components/migration-state-badge";
import { SqlBlock } from "@/components/sql-block";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { runPeople } from "@/lib/deployments/service";
import { migrationCatalog, runtime } from "@/lib/server/runtime";
import { environmentStatus } from "@/lib/targets/environment-status";

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }) {
  return { title: `Environment ${(await params).name}` };
}

const dateTime = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium", timeZone: "America/Sao_Paulo" });

export default async function EnvironmentPage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  const environment = runtime().config.registry.byName(name);
  if (!environment) notFound();
  const catalog = await migrationCatalog();
  const result = await environmentStatus(environment, catalog);

  if (!result.ok) {
    return (
      <>
        <PageHeader title={environment.label} />
        <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-red-900">
          {result.error}
        </div>
      </>
    );
  }
  const { status } = result;
  const applied = status.migrations.filter((m) => m.state === "applied" || m.state === "checksum_mismatch");
  const waiting = status.migrations.filter((m) => m.state === "pending" || m.state === "out_of_order");
  const flagged = status.migrations.filter((m) => m.state === "checksum_mismatch" || m.state === "out_of_order");
  const people = await runPeople(runtime().store.db, applied.map((m) => m.runId));

  return (
    <>
      <PageHeader
        title={environment.label}
        description={`At ${status.current ?? "no migration yet"}; ${waiting.length === 0 ? "up to date" : `${waiting.length} migration(s) waiting`}. Times in America/Sao_Paulo.`}
      />
      <div className="space-y-6">
        {(flagged.length > 0 || status.unknown.length > 0) && (
          <Card title="Needs attention">
            <ul className="space-y-2 text-sm">
              {flagged.map((m) => (
                <li key={m.tag}>
                  <MigrationStateBadge state={m.state} /> <span className="font-mono">{m.tag}</span>: {m.explanation}
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
                    <td>{m.appliedAt ? dateTime.format(m.appliedAt) : "unknown (applied outside the console)"}</td>
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
                  {migration.statements.length} statement(s)
                  {migration.statements.some((s) => !s.analysis.transactional) ? ", runs outside a transaction (CONCURRENTLY)" : ", one transaction"}
                  {m.state === "out_of_order" ? `. ${m.explanation}` : ""}
                </p>
                <SqlBlock sql={migration.sql} label={`SQL of ${m.tag}`} />
              </Card>
            );
          })}
        </section>
      </div>
    </>
  );
}
