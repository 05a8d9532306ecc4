import { eq } from "drizzle-orm";
import { z } from "zod";
import { AppError, toErrorPayload } from "@/lib/errors";
import { snapshotToSql } from "@/lib/plan/schema-sql";
import { logServerError, runtime } from "@/lib/server/runtime";
import { requireActor } from "@/lib/server/session";
import { deployments, environments } from "@/lib/store/schema";

export const dynamic = "force-dynamic";

/** The target's schema as it was right before this deployment ran, as readable SQL DDL generated from the catalog snapshot. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  try {
    await requireActor();
    const id = z.uuid().safeParse((await params).id);
    if (!id.success) throw new AppError("not_found", "That deployment does not exist.");
    const [row] = await runtime()
      .store.db.select({ number: deployments.number, schemaBefore: deployments.schemaBefore, updatedAt: deployments.updatedAt, environment: environments.name })
      .from(deployments)
      .innerJoin(environments, eq(environments.id, deployments.environmentId))
      .where(eq(deployments.id, id.data));
    if (!row) throw new AppError("not_found", "That deployment does not exist.");
    if (!row.schemaBefore) throw new AppError("not_found", "This deployment has not run, so there is no schema from before it.");
    const sql = snapshotToSql(row.schemaBefore.catalog, [`Schema of ${row.environment} right before deployment #${row.number} ran.`]);
    return new Response(sql, { headers: { "Content-Type": "application/sql; charset=utf-8", "Content-Disposition": `attachment; filename="deployment-${row.number}-schema-before.sql"` } });
  } catch (e) {
    const error = toErrorPayload(e, logServerError);
    return Response.json({ ok: false, error }, { status: error.status });
  }
}
