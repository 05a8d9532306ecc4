/**
 * The CLI's connection to the console itself (its store, queue and gates), for commands that act
 * as a console user: the same lib/ functions and rules as the web, authenticated by the same
 * credentials (MIGRATION_CONSOLE_EMAIL and MIGRATION_CONSOLE_PASSWORD).
 */
import path from "node:path";
import type PgBoss from "pg-boss";
import { verifyCredentials, type Actor } from "../lib/auth/users";
import { loadCatalog } from "../lib/catalog";
import { loadConfig, type ConsoleConfig } from "../lib/config/env";
import { deploymentDepsFor, type DeploymentDeps } from "../lib/deployments/context";
import { consoleEnvironment } from "../lib/embedded/console-env";
import { AppError } from "../lib/errors";
import { enqueueWith, startBoss } from "../lib/jobs/queue";
import { assertShadowIsolated } from "../lib/plan/isolation";
import { openStore, type Store } from "../lib/store/db";
import { prepareStore } from "../lib/store/prepare";

export interface ConsoleSession {
  config: ConsoleConfig;
  store: Store;
  boss: PgBoss;
  deps: DeploymentDeps;
  /** The signed-in console user; throws when the credentials are missing or wrong. */
  actor(): Promise<Actor>;
  close(): Promise<void>;
}

export async function openConsoleSession(root: string): Promise<ConsoleSession> {
  const { env, cluster } = await consoleEnvironment(process.env, root);
  const config = loadConfig(env, root);
  await assertShadowIsolated(config.shadowDatabaseUrl, config.registry.environments);
  await prepareStore(config, path.join(root, "lib/store/migrations"));
  const store = openStore(config.storeUrl, { max: 4 });
  const boss = await startBoss(config.storeUrl);
  const deps = deploymentDepsFor(config, store, () => loadCatalog(path.join(root, "db/migrations")), enqueueWith(boss));
  let actor: Actor | null = null;
  return {
    config,
    store,
    boss,
    deps,
    actor: async () => {
      if (actor) return actor;
      const email = env.MIGRATION_CONSOLE_EMAIL;
      const password = env.MIGRATION_CONSOLE_PASSWORD;
      if (!email || !password) {
        throw new AppError("unauthenticated", "This command acts as a console user: set MIGRATION_CONSOLE_EMAIL and MIGRATION_CONSOLE_PASSWORD.");
      }
      const user = await verifyCredentials(store.db, email, password);
      if (!user) throw new AppError("unauthenticated", `MIGRATION_CONSOLE_EMAIL / MIGRATION_CONSOLE_PASSWORD do not match an active console user (${email}).`);
      actor = { id: user.id, email: user.email, name: user.name, role: user.role };
      return actor;
    },
    close: async () => {
      await boss.stop({ graceful: false, wait: true });
      await store.close();
      if (cluster) await cluster.stop();
    },
  };
}
