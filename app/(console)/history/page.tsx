import { ComingNext } from "@/components/ui/coming-next";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "History" };

export default function Page() {
  return (
    <>
      <PageHeader title="History" description="What changed where, and when." />
      <ComingNext
        items={[
          "Every migration applied or rolled back on every environment, with its deployment and approvers.",
          "Schema drift between what the ledger implies and the live catalog.",
        ]}
      />
    </>
  );
}
