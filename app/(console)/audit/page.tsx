import { ComingNext } from "@/components/ui/coming-next";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Audit" };

export default function Page() {
  return (
    <>
      <PageHeader title="Audit" description="The tamper-evident record of every state change." />
      <ComingNext
        items={[
          "Audit events with filters by actor, action and period.",
          "The result of re-verifying the hash chain.",
          "CSV and JSON export for auditors.",
        ]}
      />
    </>
  );
}
