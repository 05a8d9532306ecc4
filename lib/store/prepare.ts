/**
 * What every console process does before using its store: bring it to the latest schema (under a
 * lock, so instances starting together do not race), mirror the environment registry, and in demo
 * mode seed one user per role.
 */
import { ensureDemoUsers } from "../auth/demo-users";
import type { ConsoleConfig } from "../config/env";
import { syncEnvironments } from "../targets/registry-sync";
import { openStore } from "./db";
import { migrateStore, STORE_MIGRATIONS_DIR } from "./migrate";

export async function prepareStore(config: ConsoleConfig, migrationsFolder = STORE_MIGRATIONS_DIR): Promise<void> {
  await migrateStore(config.storeUrl, migrationsFolder);
  const store = openStore(config.storeUrl, { max: 1 });
  try {
    await syncEnvironments(store.db, config.registry);
    if (config.demo) await ensureDemoUsers(store.db);
  } finally {
    await store.close();
  }
}
