import { sql } from "drizzle-orm";
import type { EnvironmentRegistry } from "../config/environments";
import type { StoreDb } from "../store/db";
import { environments } from "../store/schema";

/** Mirrors the registry file into the store (the file is the source of truth). */
export async function syncEnvironments(db: StoreDb, registry: EnvironmentRegistry): Promise<void> {
  await db.transaction(async (tx) => {
    for (const env of registry.environments) {
      await tx
        .insert(environments)
        .values({ name: env.name, label: env.label, position: env.position, urlEnv: env.urlEnv, gatePolicy: env.gates })
        .onConflictDoUpdate({
          target: environments.name,
          set: { label: env.label, position: env.position, urlEnv: env.urlEnv, gatePolicy: env.gates, updatedAt: sql`now()` },
        });
    }
  });
}
