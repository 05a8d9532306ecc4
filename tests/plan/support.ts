/**
 * Targets at a given version of the real history, and plans computed the way the console computes
 * them: targets on the suite's PostgreSQL 18 or 15, rehearsals on the suite's shadow cluster (a third
 * server, PostgreSQL 18, that hosts no target): a plan refuses a shadow on its target's cluster.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { computePlan, type Plan, type PlanKind } from "../../lib/plan/plan";
import { closeShadowConnections, type ShadowServer } from "../../lib/plan/shadow";
import { adminUrl, freshDatabase, shadowAdminUrl, type ServerVersion, type TestDatabase } from "../support/databases";
import { MIGRATIONS_DIR } from "../executor/support";

export const realCatalog = (): Promise<Catalog> => loadCatalog(MIGRATIONS_DIR);

/** The suite's shadow cluster; `server` picks a test server instead (only for a target on another one). */
export const shadowServer = (server?: ServerVersion): ShadowServer => ({ adminUrl: server ? adminUrl(server) : shadowAdminUrl() });

/**
 * Migrates a database to each requested version once; `at(tag)` then gives a fresh copy (CREATE
 * DATABASE ... TEMPLATE), so every test starts from its own untouched target.
 */
export async function targetsAt(catalog: Catalog, tags: string[], prefix: string, server: ServerVersion = 18) {
  const seeds = new Map<string, TestDatabase>();
  for (const tag of tags) {
    const seed = await freshDatabase({ prefix: `${prefix}_seed`, server });
    await applyMigrations({ url: seed.url, catalog, to: tag, actor: "test-setup" });
    seeds.set(tag, seed);
  }
  const copies: TestDatabase[] = [];
  return {
    at: async (tag: string): Promise<TestDatabase> => {
      const seed = seeds.get(tag);
      if (!seed) throw new Error(`no seed database at ${tag}; list it in targetsAt`);
      const db = await freshDatabase({ prefix, template: seed.name, server });
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

/**
 * A shadow server reached as a role of its own (as a separate SHADOW_DATABASE_URL user would be), so
 * what rehearsals leave on the server can be counted: the databases this role owns.
 */
export async function dedicatedShadowRole(label: string) {
  const role = `plan_${label}_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  const admin = () => postgres(shadowAdminUrl(), { max: 1, onnotice: () => {} });
  const sql = admin();
  try {
    await sql.unsafe(`CREATE ROLE "${role}" LOGIN SUPERUSER PASSWORD '${password}'`);
  } finally {
    await sql.end();
  }
  const url = new URL(shadowAdminUrl());
  url.username = role;
  url.password = password;
  const owned = async (): Promise<{ name: string; allowsConnections: boolean }[]> => {
    const sql = admin();
    try {
      return await sql<{ name: string; allowsConnections: boolean }[]>`
        select datname as name, datallowconn as "allowsConnections" from pg_database
        where datdba = (select oid from pg_roles where rolname = ${role}) order by datname`;
    } finally {
      await sql.end();
    }
  };
  return {
    role,
    shadow: { adminUrl: url.toString() } satisfies ShadowServer,
    /** Databases this role owns on the server, by name. */
    owned,
    drop: async () => {
      await closeShadowConnections(); // its pooled connections and spare copies first
      const sql = admin();
      try {
        for (const { name } of await owned()) await sql.unsafe(`DROP DATABASE "${name}" WITH (FORCE)`);
        await sql.unsafe(`DROP ROLE IF EXISTS "${role}"`);
      } finally {
        await sql.end();
      }
    },
  };
}
