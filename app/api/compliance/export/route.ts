import { z } from "zod";
import { AppError, toErrorPayload } from "@/lib/errors";
import { logServerError, runtime } from "@/lib/server/runtime";
import { requireActor } from "@/lib/server/session";
import { buildEvidenceBundle } from "@/lib/verify/evidence-bundle";

export const dynamic = "force-dynamic";

const input = z.object({ environment: z.string().min(1), from: z.iso.date(), to: z.iso.date() });

/** The evidence bundle (zip) for an environment and period; compliance officers and admins only. */
export async function GET(request: Request) {
  try {
    const actor = await requireActor(["compliance_officer", "admin"]);
    const parsed = input.safeParse(Object.fromEntries(new URL(request.url).searchParams));
    if (!parsed.success) throw new AppError("invalid_input", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const { store, config } = runtime();
    const bundle = await buildEvidenceBundle(store, config.registry, parsed.data, { id: actor.id, email: actor.email }, { timeZone: config.timeZone, signingKeyPem: config.evidenceSigningKey });
    return new Response(Buffer.from(bundle.zip), {
      headers: { "Content-Type": "application/zip", "Content-Disposition": `attachment; filename="${bundle.filename}"` },
    });
  } catch (e) {
    const error = toErrorPayload(e, logServerError);
    return Response.json({ ok: false, error }, { status: error.status });
  }
}
