/**
 * What the console-user CLI tests share: a store from the test template (demo users), local at 0007 and
 * staging at 0006 on real PostgreSQL, and the environment that points the CLI at them.
 */
import path from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { freshDatabase, shadowAdminUrl, type TestDatabase } from "../support/databases";
import { CLI_RUN_MS, root } from "./cli-support";

/** Up to fourteen CLI runs per test, each bounded by CLI_RUN_MS. */
export const CLI_TIMEOUT = 14 * CLI_RUN_MS;

export const as = (email: string | null) => (email ? { MIGRATION_CONSOLE_EMAIL: email, MIGRATION_CONSOLE_PASSWORD: "console-demo" } : { MIGRATION_CONSOLE_EMAIL: null, MIGRATION_CONSOLE_PASSWORD: null });

export interface ConsoleCliFixture {
  store: TestDatabase;
  local: TestDatabase;
  staging: TestDatabase;
  catalog: Catalog;
  env: Record<string, string | null>;
}

/** Registers the file's beforeAll/afterAll; the fields are set once beforeAll has run. */
export function consoleCliFixture(prefix: string): ConsoleCliFixture {
  const f = {} as ConsoleCliFixture;
  beforeAll(async () => {
    f.store = await freshDatabase({ prefix: `${prefix}_store`, template: inject("storeTemplate") });
    f.local = await freshDatabase({ prefix: `${prefix}_local` });
    f.staging = await freshDatabase({ prefix: `${prefix}_staging` });
    f.catalog = await loadCatalog(path.join(root, "db/migrations"));
    await applyMigrations({ url: f.local.url, catalog: f.catalog, to: f.catalog.migrations[7]!.tag, actor: "test-setup" });
    await applyMigrations({ url: f.staging.url, catalog: f.catalog, to: f.catalog.migrations[6]!.tag, actor: "test-setup" });
    f.env = {
      CONSOLE_DATABASE_URL: f.store.url,
      CONSOLE_DEMO: "1",
      NEXTAUTH_SECRET: "x".repeat(40),
      SHADOW_DATABASE_URL: shadowAdminUrl(),
      TARGET_LOCAL_URL: f.local.url,
      TARGET_STAGING_URL: f.staging.url,
      TARGET_PRODUCTION_URL: null,
      CONSOLE_ENVIRONMENTS_FILE: null,
    };
  }, 120_000);
  afterAll(async () => {
    await Promise.all([f.store, f.local, f.staging].map((d) => d?.drop()));
  });
  return f;
}
