import { ComingNext } from "@/components/ui/coming-next";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Deployments" };

export default function Page() {
  return (
    <>
      <PageHeader title="Deployments" description="Requests to move an environment to a target migration, with their plan and approvals." />
      <ComingNext
        items={[
          "The deployments list, filtered by environment and state.",
          "A deployment's plan: SQL per migration, lint findings, schema diff, rehearsal timings and lock levels.",
          "Approve, reject, apply, cancel and roll back, each explaining why it is disabled.",
          "The live run log while a deployment runs.",
        ]}
      />
    </>
  );
}
