import { guardedDownload } from "@/app/_server/handlers";
import { runtime } from "@/app/_server/runtime";
import { buildEvidenceBundle, evidenceRequestInput } from "@/lib/verify/evidence-bundle";

export const dynamic = "force-dynamic";

/** The evidence bundle (zip) for an environment and period. */
export const GET = guardedDownload({ permission: "evidence:export", input: evidenceRequestInput }, async (input, { actor, store }) => {
  const { config } = runtime();
  const bundle = await buildEvidenceBundle(store, config.registry, input, actor, { timeZone: config.timeZone, signingKeyPem: config.evidenceSigningKey });
  return { body: bundle.zip, contentType: "application/zip", filename: bundle.filename };
});
