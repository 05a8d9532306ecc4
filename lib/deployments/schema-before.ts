/** The target's schema as it was right before a deployment ran, as the file a person downloads. */
import { eq } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "../errors";
import type { StoreExecutor } from "../store/db";
import { deployments } from "../store/schema";
import { snapshotAsSql } from "../plan/schema-sql";

export const schemaBeforeInput = z.object({ id: z.string() });

/** The pg_dump taken before the run when there is one, else the catalog snapshot written as readable SQL. */
export async function schemaBeforeDownload(db: StoreExecutor, id: string): Promise<{ body: string; contentType: string; filename: string }> {
  if (!z.uuid().safeParse(id).success) throw new AppError("not_found", "That deployment does not exist.");
  const [row] = await db.select({ number: deployments.number, schemaBefore: deployments.schemaBefore }).from(deployments).where(eq(deployments.id, id));
  if (!row) throw new AppError("not_found", "That deployment does not exist.");
  if (!row.schemaBefore) throw new AppError("not_found", "This deployment has not run, so there is no schema from before it.");
  const { dump, catalog } = row.schemaBefore;
  if (dump.ok) return { body: dump.sql, contentType: "application/sql; charset=utf-8", filename: `deployment-${row.number}-schema-before.sql` };
  const sql = snapshotAsSql(catalog, [
    `Schema of the target right before deployment #${row.number}, written by the console from its catalog snapshot.`,
    `No pg_dump of the server's version was available (${dump.reason}); install one for an exact dump.`,
  ]);
  return { body: sql, contentType: "application/sql; charset=utf-8", filename: `deployment-${row.number}-schema-before.sql` };
}
