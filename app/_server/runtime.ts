/**
 * The Next.js server's composition root: the console opened once by the one boot (lib/boot) when
 * the server starts, and the auth options built on it. Everything below takes these as arguments.
 * (Moves to app/_server with the rest of app/_server; see docs/architecture.md.)
 */
import "server-only";
import type { NextAuthOptions } from "next-auth";
import type PgBoss from "pg-boss";
import { buildAuthOptions } from "../../lib/auth/options";
import { migrationCatalogAt, openConsole } from "../../lib/boot";
import type { Catalog } from "../../lib/migrations";
import { loadConfig, type ConsoleConfig } from "../../lib/config/env";
import { deploymentDepsFor, type DeploymentDeps } from "../../lib/deployments/context";
import { openStore, type Store } from "../../lib/store/db";
import { redactSecrets } from "../../lib/errors";

interface Runtime {
  config: ConsoleConfig;
  store: Store;
  authOptions: NextAuthOptions;
  /** The boot's queue client; null until booted (tests call actions without a boot). */
  boss: Promise<PgBoss> | null;
}

// Cached on globalThis: instrumentation and every server bundle share it, and dev-mode module
// reloads do not open a new pool each time.
const cache = globalThis as unknown as { __migrationConsole?: Runtime };

const root = () => /*turbopackIgnore: true*/ process.cwd();

/** Called once from instrumentation.ts: configuration → store migrated → registry synced → queue. */
export async function bootWebConsole(): Promise<void> {
  if (cache.__migrationConsole?.boss) return;
  const opened = await openConsole({ root: root(), env: process.env, face: "web" });
  cache.__migrationConsole = {
    config: opened.config,
    store: opened.store,
    authOptions: buildAuthOptions(opened.config, opened.store.db),
    boss: Promise.resolve(opened.boss!),
  };
}

export function runtime(): Runtime {
  if (!cache.__migrationConsole) {
    // Not booted (tests call actions and route handlers directly): the same configuration, read once.
    const config = loadConfig(process.env);
    const store = openStore(config.storeUrl);
    cache.__migrationConsole = { config, store, authOptions: buildAuthOptions(config, store.db), boss: null };
  }
  return cache.__migrationConsole;
}

/** The runtime when something opened it, without opening one. */
export function openedRuntime(): Runtime | undefined {
  return cache.__migrationConsole;
}

/** What deployment functions need, wired to this server's store, registry, files and queue. */
export function deploymentDeps(): DeploymentDeps {
  const { config, store } = runtime();
  return deploymentDepsFor(config, store, migrationCatalog, async (id) => (await import("./jobs")).enqueueDeployment(id));
}

/** The migration files as they are on disk now (re-read per request: a new file must show at once). */
export function migrationCatalog(): Promise<Catalog> {
  return migrationCatalogAt(root())();
}

/** Server-side log line; callers pass messages, never URLs or secrets. */
export function logServerError(message: string, error: unknown): void {
  // drizzle wraps the driver's error ("Failed query: ..."): the cause says what PostgreSQL refused.
  const cause = error instanceof Error && error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
  const detail = error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error);
  console.error(`[migration-console] ${message}: ${redactSecrets(detail)}`);
}
