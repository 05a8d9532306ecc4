/**
 * A whole console against real PostgreSQL for integration tests: a migrated store with the demo
 * users, one target database per environment at chosen versions, a real pg-boss queue and worker.
 * Server actions are called as they are in production; only the session (who is signed in) is set
 * by the test, through `signedInAs`.
 */
import path from "node:path";
import type PgBoss from "pg-boss";
import { inject } from "vitest";
import { DEMO_USERS, ensureDemoUsers } from "../../lib/auth/demo-users";
import { findUserByEmail, type Actor } from "../../lib/auth/users";
import { loadCatalog, type Catalog } from "../../lib/catalog";
import { loadRegistry } from "../../lib/config/env";
import type { DeploymentDeps } from "../../lib/deployments/context";
import { applyMigrations } from "../../lib/executor";
import { enqueueWith, startBoss, startDeploymentWorker, type WorkerHandle } from "../../lib/jobs/queue";
import { openStore, type Store } from "../../lib/store/db";
import { syncEnvironments } from "../../lib/targets/registry-sync";
import { verifyAfterApply } from "../../lib/verify/snapshots";
import { adminUrl, freshDatabase, type TestDatabase } from "./databases";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Who is signed in. A test file mocks next-auth's getServerSession to read this (see
 * tests/deployments/flow.test.ts); everything below it (guard, store, gates) is real.
 */
export const session = { userId: null as string | null };

export function sessionFromTest() {
  return session.userId ? { userId: session.userId, expires: new Date(Date.now() + 3600_000).toISOString() } : null;
}

export interface TestConsole {
  store: Store;
  catalog: Catalog;
  targets: Record<string, TestDatabase>;
  deps: DeploymentDeps;
  boss: PgBoss;
  actor(email: string): Promise<Actor>;
  signedInAs(email: string | null): Promise<void>;
  close(): Promise<void>;
}

/** versions: environment → how many migrations to apply (from the start). */
export async function startTestConsole(versions: Record<string, number>, options: { worker?: boolean } = {}): Promise<TestConsole> {
  const storeDb = await freshDatabase({ prefix: "console", template: inject("storeTemplate") });
  const catalog = await loadCatalog(path.join(root, "db/migrations"));
  const targets: Record<string, TestDatabase> = {};
  const env: Record<string, string> = {
    CONSOLE_DATABASE_URL: storeDb.url,
    NEXTAUTH_SECRET: "test-secret-".padEnd(40, "x"),
    SHADOW_DATABASE_URL: adminUrl(18),
  };
  const registryNames = loadRegistry({}, root).environments;
  for (const e of registryNames) {
    const db = await freshDatabase({ prefix: `target_${e.name}` });
    targets[e.name] = db;
    env[e.urlEnv] = db.url;
    const count = versions[e.name] ?? 0;
    if (count > 0) await applyMigrations({ url: db.url, catalog, to: catalog.migrations[count - 1]!.tag, actor: "test-setup" });
  }
  Object.assign(process.env, env);
  const registry = loadRegistry(process.env, root);
  const store = openStore(storeDb.url, { max: 6 });
  await syncEnvironments(store.db, registry);
  await ensureDemoUsers(store.db);
  const boss = await startBoss(storeDb.url);
  const deps: DeploymentDeps = {
    store,
    registry,
    catalog: async () => catalog,
    shadow: { adminUrl: adminUrl(18) },
    enqueue: enqueueWith(boss),
  };
  let worker: WorkerHandle | null = null;
  if (options.worker !== false) worker = await startDeploymentWorker(boss, deps, verifyAfterApply(deps));

  const actor = async (email: string): Promise<Actor> => {
    const u = (await findUserByEmail(store.db, email))!;
    return { id: u.id, email: u.email, name: u.name, role: u.role };
  };
  return {
    store,
    catalog,
    targets,
    deps,
    boss,
    actor,
    signedInAs: async (email) => {
      session.userId = email ? (await actor(email)).id : null;
    },
    close: async () => {
      // Waits for a run still verifying after its apply: dropping its databases under it would kill its connections mid-write.
      await worker?.stop();
      // The server actions' own queue client (lib/server/jobs), if they started one.
      await (await import("../../lib/server/jobs")).stopJobQueue();
      await boss.stop({ graceful: false, wait: true });
      await store.close();
      await Promise.all([storeDb.drop(), ...Object.values(targets).map((t) => t.drop())]);
    },
  };
}

export const EMAIL = Object.fromEntries(DEMO_USERS.map((u) => [u.email.split("@")[0]!, u.email])) as Record<"engineer" | "release" | "release2" | "compliance" | "admin", string>;
