/**
 * The configuration a process of the console runs with: the environment as given, or, when no
 * store is configured, the demo's embedded cluster filling in what is unset (the same rule for the
 * start script, the worker and the CLI). The cluster is shared through a lease (cluster-lease.ts).
 */
import path from "node:path";
import { loadCatalog } from "../migrations";
import { loadRegistry } from "../config/env";
import { leaseDemoCluster, type LeaseHolderKind } from "./cluster-lease";
import { demoSettings, type DemoCluster } from "./demo-cluster";

export interface ConsoleEnvironment {
  env: Record<string, string | undefined>;
  cluster: DemoCluster | null;
  /** Gives back this process's lease on the demo cluster; true when that stopped the cluster. */
  release(): Promise<boolean>;
}

export async function consoleEnvironment(
  source: Record<string, string | undefined>,
  root: string,
  options: { log?: (line: string) => void; fresh?: boolean; kind?: LeaseHolderKind } = {},
): Promise<ConsoleEnvironment> {
  // An empty variable means unset (CI and test runners pass them empty to force the demo).
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ""));
  if (env.CONSOLE_DATABASE_URL) return { env, cluster: null, release: async () => false };
  const log = options.log ?? (() => {});
  const settings = demoSettings(env, root);
  log(`No CONSOLE_DATABASE_URL: using the embedded PostgreSQL (data in ${path.relative(root, settings.dataDir) || "."}/)`);
  const lease = await leaseDemoCluster({
    ...settings,
    registry: loadRegistry(env, root),
    catalog: () => loadCatalog(path.join(root, "db/migrations")),
    kind: options.kind ?? "cli",
    log,
    fresh: options.fresh,
  });
  return { env: { ...lease.cluster.env, ...env }, cluster: lease.cluster, release: lease.release };
}
