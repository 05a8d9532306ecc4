import Link from "next/link";
import { ComplianceBoard } from "@/components/compliance/board";
import { SigningKeyCard } from "@/components/compliance/signing-key";
import { evidenceSigningKey } from "@/lib/verify/evidence-signing";
import { PageHeader } from "@/components/ui/page-header";
import { runtime } from "@/app/_server/runtime";
import { complianceBoard } from "@/lib/verify/board";
import { runVerificationAction } from "./actions";

export const metadata = { title: "Compliance" };

export default async function CompliancePage() {
  const { store, config } = runtime();
  const [board, key] = await Promise.all([complianceBoard(store, config.registry), evidenceSigningKey(store.db, config.evidenceSigningKey)]);
  return (
    <>
      <PageHeader
        title="Compliance board"
        description="Tenant isolation, indexes, consent proofs and retention per environment, from the latest verification (runs after every deployment and on a schedule)."
        actions={
          <Link href="/compliance/requirements" className="text-sm font-medium text-brand-700 underline">
            By requirement (LGPD, CFM, ANVISA, NGS2)
          </Link>
        }
      />
      <div className="space-y-6">
        <ComplianceBoard initial={JSON.parse(JSON.stringify(board))} runNow={runVerificationAction} timeZone={config.timeZone} />
        <SigningKeyCard keyId={key.keyId} publicKeyPem={key.publicKeyPem} />
      </div>
    </>
  );
}
