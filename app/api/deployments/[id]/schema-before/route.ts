import { eq } from "drizzle-orm";
import { z } from "zod";
import { AppError, toErrorPayload } from "@/lib/errors";
import { logServerError, runtime } from "@/lib/server/runtime";
import { requireActor } from "@/lib/server/session";
import { snapshotAsSql } from "@/lib/plan/schema-sql";
import { deployments } from "@/lib/store/schema";

export const dynamic = "force-dynamic";

/** The target's schema as it was right before this deployment ran: the pg_dump when there is one, else the catalog snapshot. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  try {
    await requireActor();
    const id = z.uuid().safeParse((await params).id);
    if (!id.success) throw new AppError("not_found", "That deployment does not exist.");
    const [row] = await runtime().store.db.select({ number: deployments.number, schemaBefore: deployments.schemaBefore }).from(deployments).where(eq(deployments.id, id.data));
    if (!row) throw new AppError("not_found", "That deployment does not exist.");
    if (!row.schemaBefore) throw new AppError("not_found", "This deployment has not run, so there is no schema from before it.");
    const { dump, catalog } = row.schemaBefore;
    if (dump.ok) {
      return new Response(dump.sql, { headers: { "Content-Type": "application/sql; charset=utf-8", "Content-Disposition": `attachment; filename="deployment-${row.number}-schema-before.sql"` } });
    }
    // No pg_dump of the server's version here: the catalog snapshot written as readable SQL instead of raw JSON.
    const sql = snapshotAsSql(catalog, [
      `Schema of the target right before deployment #${row.number}, written by the console from its catalog snapshot.`,
      `No pg_dump of the server's version was available (${dump.reason}); install one for an exact dump.`,
    ]);
    return new Response(sql, { headers: { "Content-Type": "application/sql; charset=utf-8", "Content-Disposition": `attachment; filename="deployment-${row.number}-schema-before.sql"` } });
  } catch (e) {
    const error = toErrorPayload(e, logServerError);
    return Response.json({ ok: false, error }, { status: error.status });
  }
}
