import { eq } from "drizzle-orm";
import { appendAuditEvent } from "../audit/log";
import { canonicalJson } from "../canonical-json";
import type { EnvironmentRegistry } from "../config/environments";
import type { StoreDb } from "../store/db";
import { environments } from "../store/schema";

/**
 * Mirrors the registry file into the store (the file is the source of truth). A new environment or
 * a changed gate policy is a change to who must approve what, so it is audited with before and after.
 */
export async function syncEnvironments(db: StoreDb, registry: EnvironmentRegistry): Promise<void> {
  await db.transaction(async (tx) => {
    const existing = new Map((await tx.select().from(environments)).map((row) => [row.name, row]));
    for (const env of registry.environments) {
      const wanted = { label: env.label, position: env.position, urlEnv: env.urlEnv, gatePolicy: env.gates };
      const current = existing.get(env.name);
      if (!current) {
        await tx.insert(environments).values({ name: env.name, ...wanted });
        await appendAuditEvent(tx, { id: null, email: "system" }, { action: "environment.registered", subjectType: "environment", subjectId: env.name, details: wanted });
        continue;
      }
      const before = { label: current.label, position: current.position, urlEnv: current.urlEnv, gatePolicy: current.gatePolicy };
      if (canonicalJson(before) === canonicalJson(wanted)) continue;
      await tx.update(environments).set({ ...wanted, updatedAt: new Date() }).where(eq(environments.id, current.id));
      await appendAuditEvent(tx, { id: null, email: "system" }, { action: "environment.changed", subjectType: "environment", subjectId: env.name, details: { before, after: wanted } });
    }
  });
}
