import { ComingNext } from "@/components/ui/coming-next";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Environments" };

export default function Page() {
  return (
    <>
      <PageHeader title="Environments" description="Migration history and drift per environment." />
      <ComingNext
        items={[
          "Per environment: the applied migrations (tag, applied at, by whom, duration, checksum state).",
          "The pending migrations with their SQL, highlighted.",
          "Status flags (checksum mismatch, out of order) explained in words.",
        ]}
      />
    </>
  );
}
