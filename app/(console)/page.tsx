import { EnvironmentCard, type EnvironmentSummary } from "@/components/environment-card";
import { PageHeader } from "@/components/ui/page-header";
import { runtime } from "@/lib/server/runtime";
import { probeTarget } from "@/lib/targets/probe";

export const metadata = { title: "Overview" };

export default async function OverviewPage() {
  const { registry } = runtime().config;
  // Probes run in parallel with a short timeout each: one dead target never stalls the page.
  const environments: EnvironmentSummary[] = await Promise.all(
    registry.environments.map(async (env) => ({
      name: env.name,
      label: env.label,
      position: env.position,
      requiredApprovals: env.gates.releaseManagerApprovals,
      promotionFrom: env.gates.promotionFrom,
      probe: await probeTarget(env.url, 3),
    })),
  );
  return (
    <>
      <PageHeader title="Environments" description="Each target database in promotion order, and whether it answers right now." />
      <div className="grid gap-4 md:grid-cols-3">
        {environments.map((env) => (
          <EnvironmentCard key={env.name} env={env} />
        ))}
      </div>
    </>
  );
}
