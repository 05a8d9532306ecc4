import { notFound } from "next/navigation";
import { CheckEvidence } from "@/components/compliance/check-evidence";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { runtime } from "@/app/_server/runtime";
import { checkById } from "@/lib/verify";
import { latestCheckResult } from "@/lib/verify/board";

export const metadata = { title: "Check evidence" };

export default async function CheckPage({ params }: { params: Promise<{ environment: string; check: string }> }) {
  const { environment, check } = await params;
  const { store, config } = runtime();
  const env = config.registry.byName(environment);
  const definition = checkById(check);
  if (!env || !definition) notFound();
  const latest = await latestCheckResult(store, env.name, check);
  return (
    <>
      <PageHeader title={`${definition.title} on ${env.label}`} description={`Evidences ${definition.controls.map((c) => `${c.framework} ${c.ref}`).join(", ")}. Severity ${definition.severity}.`} />
      <Card>
        {latest?.result ? (
          <CheckEvidence result={latest.result} full />
        ) : (
          <p className="text-sm text-slate-600">{latest?.unreachable ?? "This check has not run on this environment yet."}</p>
        )}
      </Card>
    </>
  );
}
