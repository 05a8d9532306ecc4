/**
 * The Next.js server's composition root: configuration parsed once from the environment, one
 * store client, the auth options. Everything below takes these as arguments.
 */
import "server-only";
import path from "node:path";
import type { NextAuthOptions } from "next-auth";
import { loadCatalog, type Catalog } from "../catalog";
import { deploymentDepsFor, type DeploymentDeps } from "../deployments/context";
import { buildAuthOptions } from "../auth/options";
import { loadConfig, type ConsoleConfig } from "../config/env";
import { openStore, type Store } from "../store/db";

interface Runtime {
  config: ConsoleConfig;
  store: Store;
  authOptions: NextAuthOptions;
}

// Cached on globalThis so dev-mode module reloads do not open a new pool each time.
const cache = globalThis as unknown as { __migrationConsole?: Runtime };

export function runtime(): Runtime {
  if (!cache.__migrationConsole) {
    const config = loadConfig(process.env);
    const store = openStore(config.storeUrl);
    cache.__migrationConsole = { config, store, authOptions: buildAuthOptions(config, store.db) };
  }
  return cache.__migrationConsole;
}

/** What deployment functions need, wired to this server's store, registry, files and queue. */
export function deploymentDeps(): DeploymentDeps {
  const { config, store } = runtime();
  return deploymentDepsFor(config, store, migrationCatalog, async (id) => (await import("./jobs")).enqueueDeployment(id));
}

/** The migration files as they are on disk now (re-read per request: a new file must show at once). */
export function migrationCatalog(): Promise<Catalog> {
  return loadCatalog(path.join(/*turbopackIgnore: true*/ process.cwd(), "db/migrations"));
}

/** Server-side log line; callers pass messages, never URLs or secrets. */
export function logServerError(message: string, error: unknown): void {
  // drizzle wraps the driver's error ("Failed query: ..."): the cause says what PostgreSQL refused.
  const cause = error instanceof Error && error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
  const detail = error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error);
  console.error(`[migration-console] ${message}: ${detail.replace(/postgres(ql)?:\/\/\S+/g, "(url)")}`);
}
