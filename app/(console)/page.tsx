import { OverviewBoard } from "@/components/overview/overview-board";
import { PageHeader } from "@/components/ui/page-header";
import { zoneLabel } from "@/lib/format";
import { runtime } from "@/app/_server/runtime";
import { pageActor } from "@/app/_server/session";
import { environmentsOverview } from "@/lib/targets/overview";
import { GROUPS } from "@/lib/verify/registry";

export const metadata = { title: "Overview" };

export default async function OverviewPage() {
  const { actor } = await pageActor();
  const { config, store } = runtime();
  // Read from the store only: verification runs record each environment's state (no target is contacted here).
  const environments = await environmentsOverview(store.db, config.registry, actor);
  return (
    <>
      <PageHeader
        title="Overview"
        description={`Every environment in promotion order, as its last verification run saw it. Times in ${zoneLabel(config.timeZone)}.`}
      />
      <OverviewBoard initial={environments} timeZone={config.timeZone} groupTitles={Object.fromEntries(GROUPS.map((g) => [g.id, g.title]))} />
    </>
  );
}
