/**
 * A new demo cluster's targets are brought to different versions and filled with synthetic
 * clinics, so every screen has something real to show: local fully migrated, staging a couple of
 * migrations behind, production further behind. Runs only for databases the demo just created;
 * an existing target is never migrated as a side effect of start-up.
 */
import { seedArchivedPatients } from "../../db/seed/archive";
import { seedDemoData } from "../../db/seed/demo";
import type { Catalog } from "../migrations";
import type { EnvironmentRegistry } from "../config/environments";
import { applyMigrations } from "../executor";
import { targetDatabaseName, type DemoCluster } from "./demo-cluster";
import { connect } from "../connection/connect";

/** How many migrations behind the latest each demo environment starts. */
const DEMO_BEHIND: Record<string, number> = { local: 0, staging: 2, production: 4 };
/** Staging also holds a clinic's archive, overdue for anonymisation: the demo backfill's work. */
const DEMO_ARCHIVED_PATIENTS: Record<string, number> = { staging: 30_000 };

export async function prepareDemoTargets(
  cluster: DemoCluster,
  registry: Pick<EnvironmentRegistry, "environments">,
  catalog: Catalog,
  log: (line: string) => void,
): Promise<void> {
  for (const env of registry.environments) {
    if (!cluster.created.includes(targetDatabaseName(env.name))) continue;
    const behind = DEMO_BEHIND[env.name] ?? 0;
    const to = catalog.migrations[catalog.migrations.length - 1 - behind];
    if (!to) continue;
    const url = cluster.env[env.urlEnv]!;
    await applyMigrations({ url, catalog, to: to.tag, actor: "demo-setup" });
    const sql = connect(url, { application: "migration-console demo seed" });
    try {
      await seedDemoData(sql);
      if (DEMO_ARCHIVED_PATIENTS[env.name]) await seedArchivedPatients(sql, DEMO_ARCHIVED_PATIENTS[env.name]!);
    } finally {
      await sql.end();
    }
    log(`Demo target ${env.name}: migrated to ${to.tag}${behind ? ` (${behind} behind)` : ""}, demo data seeded`);
  }
}
