/** What deployment functions need from the outside world, passed in so tests use real, local parts. */
import type { Catalog } from "../catalog";
import type { EnvironmentConfig, EnvironmentRegistry } from "../config/environments";
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
}

export function targetUrl(env: EnvironmentConfig): string {
  if (!env.url) throw new Error(`${env.name} has no target URL: ${env.urlEnv} is unset.`);
  return env.url;
}
