/**
 * Targets at a given version of the real history, and plans computed the way the console computes
 * them (the suite's PostgreSQL 18 is both the target's server and the shadow server).
 */
import { loadCatalog, type Catalog } from "../../lib/catalog";
import { applyMigrations } from "../../lib/executor";
import { computePlan, type Plan, type PlanKind } from "../../lib/plan/plan";
import type { ShadowServer } from "../../lib/plan/shadow";
import { adminUrl, freshDatabase, type TestDatabase } from "../support/databases";
import { MIGRATIONS_DIR } from "../executor/support";

export const realCatalog = (): Promise<Catalog> => loadCatalog(MIGRATIONS_DIR);

export const shadowServer = (): ShadowServer => ({ adminUrl: adminUrl(18) });

/**
 * Migrates a database to each requested version once; `at(tag)` then gives a fresh copy (CREATE
 * DATABASE ... TEMPLATE), so every test starts from its own untouched target.
 */
export async function targetsAt(catalog: Catalog, tags: string[], prefix: string) {
  const seeds = new Map<string, TestDatabase>();
  for (const tag of tags) {
    const seed = await freshDatabase({ prefix: `${prefix}_seed` });
    await applyMigrations({ url: seed.url, catalog, to: tag, actor: "test-setup" });
    seeds.set(tag, seed);
  }
  const copies: TestDatabase[] = [];
  return {
    at: async (tag: string): Promise<TestDatabase> => {
      const seed = seeds.get(tag);
      if (!seed) throw new Error(`no seed database at ${tag}; list it in targetsAt`);
      const db = await freshDatabase({ prefix, template: seed.name });
      copies.push(db);
      return db;
    },
    dropAll: async () => {
      await Promise.all([...copies.splice(0), ...seeds.values()].map((db) => db.drop()));
    },
  };
}

export function plan(target: TestDatabase | string, catalog: Catalog, options: { kind?: PlanKind; to?: string | null; environment?: string; shadow?: ShadowServer } = {}): Promise<Plan> {
  return computePlan(
    {
      environment: options.environment ?? "staging",
      targetUrl: typeof target === "string" ? target : target.url,
      catalog,
      kind: options.kind ?? "apply",
      to: options.to ?? null,
    },
    options.shadow ?? shadowServer(),
  );
}

/** The changes of one section of a schema diff, as `change key` strings. */
export function changesIn(diff: Plan["schemaDiff"], section: string): string[] {
  return (diff?.changes ?? []).filter((c) => c.section === section).map((c) => `${c.change} ${c.key}`);
}
