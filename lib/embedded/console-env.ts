/**
 * The configuration a process of the console runs with: the environment as given, or, when no
 * store is configured, the demo's embedded cluster filling in what is unset (the same rule for the
 * start script, the worker and the CLI).
 */
import path from "node:path";
import { loadCatalog } from "../catalog";
import { loadRegistry } from "../config/env";
import { demoSettings, startDemoCluster, type DemoCluster } from "./demo-cluster";
import { prepareDemoTargets } from "./demo-targets";
import { destroyLocalPostgres } from "./postgres-server";

export async function consoleEnvironment(
  source: Record<string, string | undefined>,
  root: string,
  options: { log?: (line: string) => void; fresh?: boolean } = {},
): Promise<{ env: Record<string, string | undefined>; cluster: DemoCluster | null }> {
  // An empty variable means unset (CI and test runners pass them empty to force the demo).
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ""));
  if (env.CONSOLE_DATABASE_URL) return { env, cluster: null };
  const log = options.log ?? (() => {});
  const settings = demoSettings(env, root);
  const registry = loadRegistry(env, root);
  if (options.fresh) {
    log("--fresh: deleting the demo databases");
    destroyLocalPostgres({ dataDir: path.join(settings.dataDir, "postgres") });
  }
  log(`No CONSOLE_DATABASE_URL: using the embedded PostgreSQL (data in ${path.relative(root, settings.dataDir) || "."}/)`);
  const cluster = await startDemoCluster({ ...settings, registry, log });
  await prepareDemoTargets(cluster, registry, await loadCatalog(path.join(root, "db/migrations")), log);
  return { env: { ...cluster.env, ...env }, cluster };
}
