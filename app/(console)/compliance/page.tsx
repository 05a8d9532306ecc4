import { ComingNext } from "@/components/ui/coming-next";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Compliance" };

export default function Page() {
  return (
    <>
      <PageHeader title="Compliance" description="LGPD, CFM and ANVISA verification per environment." />
      <ComingNext
        items={[
          "A board of environments × check groups (RLS, policies, isolation, indexes, consent proofs, retention, telemedicine).",
          "Each check's evidence, the SQL that reproduces it and how to fix it.",
          "Requirements (LGPD articles, CFM 2314/2022, ANVISA, NGS2) mapped to checks, and an evidence export.",
        ]}
      />
    </>
  );
}
