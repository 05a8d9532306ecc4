import { z } from "zod";
import { auditEventsToCsv, auditFilterInput, listAuditEvents } from "@/lib/audit/query";
import { verifyAuditChain } from "@/lib/audit/log";
import { AppError, toErrorPayload } from "@/lib/errors";
import { logServerError, runtime } from "@/lib/server/runtime";
import { requireActor } from "@/lib/server/session";

export const dynamic = "force-dynamic";

const exportInput = auditFilterInput.extend({ format: z.enum(["csv", "json"]).default("json") });

/** Audit export for auditors: the filtered events and, in JSON, the chain verification. */
export async function GET(request: Request) {
  try {
    await requireActor(["compliance_officer", "admin"]);
    const parsed = exportInput.safeParse(Object.fromEntries(new URL(request.url).searchParams));
    if (!parsed.success) throw new AppError("invalid_input", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const { format, ...filter } = parsed.data;
    const { store } = runtime();
    const events = await listAuditEvents(store.db, filter, 100_000);
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    if (format === "csv") {
      return new Response(auditEventsToCsv(events), {
        headers: { "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="audit-${stamp}.csv"` },
      });
    }
    const chain = await verifyAuditChain(store.db);
    return new Response(JSON.stringify({ exportedAt: new Date().toISOString(), filter, chain, events }, null, 2), {
      headers: { "Content-Type": "application/json", "Content-Disposition": `attachment; filename="audit-${stamp}.json"` },
    });
  } catch (e) {
    const error = toErrorPayload(e, logServerError);
    return Response.json({ ok: false, error }, { status: error.status });
  }
}
