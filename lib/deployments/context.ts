/** What deployment functions need from the outside world, passed in so tests use real, local parts. */
import type { Catalog } from "../migrations";
import type { ConsoleConfig } from "../config/env";
import type { EnvironmentConfig, EnvironmentRegistry } from "../config/environments";
import { AppError } from "../errors";
import type { ShadowServer } from "../plan/shadow";
import type { Store } from "../store/db";

export interface DeploymentDeps {
  store: Store;
  registry: EnvironmentRegistry;
  /** The migration files as they are now. */
  catalog: () => Promise<Catalog>;
  shadow: ShadowServer;
  /**
   * Hands a queued deployment to the worker. Called after the state change committed; the queued
   * state itself is the source of truth, and the worker re-sends jobs for queued deployments it
   * finds without one, so a lost send delays a run but never loses it.
   */
  enqueue: (deploymentId: string) => Promise<void>;
  /** Where backfill declarations live; default db/backfills beside the migrations folder. */
  backfillsDir?: string;
  /** When a backfill yields to the target (defaults in lib/backfills/pressure). */
  backfillLimits?: Partial<import("../backfills/pressure").PressureLimits>;
}

export function targetUrl(env: EnvironmentConfig): string {
  if (!env.url) throw new AppError("unreachable", `${env.label} has no target URL: ${env.urlEnv} is unset.`, undefined, { hint: `Set ${env.urlEnv} to the target's PostgreSQL URL and restart the console.` });
  return env.url;
}

/** The one way every face (web, worker, CLI) wires deployment functions to its configuration. */
export function deploymentDepsFor(config: ConsoleConfig, store: Store, catalog: () => Promise<Catalog>, enqueue: DeploymentDeps["enqueue"]): DeploymentDeps {
  return {
    store,
    registry: config.registry,
    catalog,
    get shadow(): ShadowServer {
      if (!config.shadowDatabaseUrl) {
        throw new AppError("unavailable", "No server for rehearsals: set SHADOW_DATABASE_URL to a PostgreSQL where the console may create databases.");
      }
      return { adminUrl: config.shadowDatabaseUrl };
    },
    enqueue,
  };
}
