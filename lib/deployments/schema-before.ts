/** The target's schema as it was right before a deployment ran, as the file a person downloads. */
import { eq } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "../errors";
import type { StoreExecutor } from "../store/db";
import { deployments, environments } from "../store/schema";
import { snapshotToSql } from "../plan/schema-sql";

export const schemaBeforeInput = z.object({ id: z.string() });

/** The catalog snapshot taken before the run, written as readable SQL DDL (no pg_dump needed, so it works in the demo too). */
export async function schemaBeforeDownload(db: StoreExecutor, id: string): Promise<{ body: string; contentType: string; filename: string }> {
  if (!z.uuid().safeParse(id).success) throw new AppError("not_found", "That deployment does not exist.");
  const [row] = await db
    .select({ number: deployments.number, schemaBefore: deployments.schemaBefore, environment: environments.name })
    .from(deployments)
    .innerJoin(environments, eq(environments.id, deployments.environmentId))
    .where(eq(deployments.id, id));
  if (!row) throw new AppError("not_found", "That deployment does not exist.");
  if (!row.schemaBefore) throw new AppError("not_found", "This deployment has not run, so there is no schema from before it.");
  const sql = snapshotToSql(row.schemaBefore.catalog, [`Schema of ${row.environment} right before deployment #${row.number} ran.`]);
  return { body: sql, contentType: "application/sql; charset=utf-8", filename: `deployment-${row.number}-schema-before.sql` };
}
