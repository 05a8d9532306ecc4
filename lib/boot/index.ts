/**
 * openConsole(): the one start-up of every console process (web server, worker, CLI), in this
 * order: configuration (the demo's embedded cluster filling in what is unset) → the store
 * migrated → the environment registry synced into it (and, in demo mode, one user per role) →
 * the job queue. Each face then does only its own part on top (serve pages, run jobs, run one
 * command). The web server calls openConsole() here; the worker and the CLI call
 * lib/boot/process, whose configuration step may start the demo's embedded cluster (kept out of
 * the web server's bundle: there, scripts/start.ts has done it).
 */
import path from "node:path";
import type PgBoss from "pg-boss";
import { ensureDemoUsers } from "../auth/demo-users";
import { loadCatalog, type Catalog } from "../migrations";
import { loadConfig, type ConsoleConfig } from "../config/env";
import { deploymentDepsFor, type DeploymentDeps } from "../deployments/context";
import { enqueueWith, startBoss } from "../jobs/queue";
import { openStore, type Store } from "../store/db";
import { migrateStore } from "../store/migrate";
import { assertShadowIsolated } from "../plan/isolation";
import { closeShadowConnections } from "../plan/shadow";
import { closeKeptConnections } from "../connection/connect";
import { syncEnvironments } from "../targets/registry-sync";

export type ConsoleFace = "web" | "worker" | "cli";

export interface BootOptions {
  /** The checkout: where db/migrations, lib/store/migrations and config/ are. */
  root: string;
  /** The process environment (read once, here). */
  env: Record<string, string | undefined>;
  face: ConsoleFace;
  log?: (line: string) => void;
  /**
   * The pg-boss client: started with the process (true, the default), on first use ("on-demand":
   * a CLI command that never queues a job neither loads nor starts it), or never (false).
   */
  queue?: boolean | "on-demand";
  /** Store connections for this process (default 10 for the web, 4 otherwise). */
  storeConnections?: number;
}

export interface OpenConsole {
  config: ConsoleConfig;
  store: Store;
  /** Null unless opened with queue: true. */
  boss: PgBoss | null;
  /** The job queue, started now if it was opened "on-demand" and not yet started. */
  queue(): Promise<PgBoss>;
  deps: DeploymentDeps;
  /** The environment as the process runs with it (the demo's URLs filled in). */
  env: Record<string, string | undefined>;
  close(): Promise<void>;
}

/** The migration files as they are on disk now (re-read on each call: a new file shows at once). */
export function migrationCatalogAt(root: string): () => Promise<Catalog> {
  return () => loadCatalog(path.join(/*turbopackIgnore: true*/ root, "db/migrations"));
}

/**
 * Brings the store to the latest schema (under a lock, so instances starting together do not
 * race), mirrors the environment registry, and in demo mode seeds one user per role.
 */
export async function prepareStore(config: ConsoleConfig, migrationsFolder: string): Promise<void> {
  await migrateStore(config.storeUrl, migrationsFolder);
  const store = openStore(config.storeUrl, { max: 1 });
  try {
    await syncEnvironments(store.db, config.registry);
    if (config.demo) await ensureDemoUsers(store.db);
  } finally {
    await store.close();
  }
}

/** An empty variable means unset (CI and test runners pass them empty to force the demo). */
export function withoutEmpty(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
}

/** How the configuration step found the environment: as given, or filled in by the demo's cluster (lib/boot/process). */
export interface PreparedEnvironment {
  env: Record<string, string | undefined>;
  /** Gives back what filling it in took (the demo cluster's lease). */
  release(): Promise<boolean>;
}

/** Store connections of a web server: what concurrent page loads share (bench/overview measures at this size). */
export const WEB_STORE_CONNECTIONS = 10;

export async function openConsole(options: BootOptions & { prepared?: PreparedEnvironment }): Promise<OpenConsole> {
  const { root, face } = options;
  // The web server's environment comes ready from its launcher (scripts/start.ts fills in the demo).
  const prepared = options.prepared ?? { env: withoutEmpty(options.env), release: async () => false };
  let store: Store | null = null;
  let boss: PgBoss | null = null;
  try {
    const config = loadConfig(prepared.env, root);
    // Refused before anything runs: a rehearsal on a target's cluster could change that target.
    await assertShadowIsolated(config.shadowDatabaseUrl, config.registry.environments);
    await prepareStore(config, path.join(/*turbopackIgnore: true*/ root, "lib/store/migrations"));
    store = openStore(config.storeUrl, { max: options.storeConnections ?? (face === "web" ? WEB_STORE_CONNECTIONS : 4) });
    const mode = options.queue ?? true;
    let starting: Promise<PgBoss> | null = null;
    const startQueue = (): Promise<PgBoss> => {
      if (mode === false) return Promise.reject(new Error("This process was opened without a job queue."));
      return (starting ??= startBoss(config.storeUrl));
    };
    if (mode === true) boss = await startQueue();
    const deps = deploymentDepsFor(config, store, migrationCatalogAt(root), async (id) => {
      await enqueueWith(await startQueue())(id);
    });
    const opened = store;
    return {
      config,
      store,
      boss,
      queue: startQueue,
      deps,
      env: prepared.env,
      close: async () => {
        const queue = starting && (await starting.catch(() => null));
        await queue?.stop({ graceful: false, wait: true });
        await opened.close();
        // Plans keep a spare rehearsal database and pooled connections on the shadow server, and a connection to their target.
        await Promise.all([closeShadowConnections().catch(() => {}), closeKeptConnections()]);
        await prepared.release();
      },
    };
  } catch (e) {
    await boss?.stop({ graceful: false, wait: true }).catch(() => {});
    await store?.close().catch(() => {});
    await prepared.release().catch(() => {});
    throw e;
  }
}
