/**
 * Sharing the demo's embedded cluster between processes: the web console, workers and any number
 * of CLI commands started at the same time. Each process holds a lease (its pid in a file beside
 * the cluster, changed only under a file lock); starting, creating the demo databases and stopping
 * all happen under that lock, so no process stops the cluster while another still uses it.
 *
 * Who stops it: the last holder out, and only a cluster that a short-lived process (CLI, worker)
 * started. A cluster the web console started (or took over) is the console's: nobody else stops
 * it, and when the console leaves while others still hold leases, the last of them stops it.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";
import type { Catalog } from "../migrations";
import type { EnvironmentRegistry } from "../config/environments";
import { startDemoCluster, type DemoCluster } from "./demo-cluster";
import { prepareDemoTargets } from "./demo-targets";
import { destroyLocalPostgres } from "./postgres-server";

/** Which face of the console holds the lease: the console owns what it starts. */
export type LeaseHolderKind = "console" | "worker" | "cli";

interface Holder {
  /** One lease (a process may hold more than one). */
  id: string;
  pid: number;
  kind: LeaseHolderKind;
  since: string;
}

interface LeaseState {
  holders: Holder[];
  /** True when the last holder out must stop the cluster (a short-lived process started it). */
  stopWhenIdle: boolean;
}

export interface ClusterLease {
  cluster: DemoCluster;
  /** Gives the lease back; stops the cluster when this was the last holder and the rule says so (then true). */
  release(): Promise<boolean>;
}

const stateFile = (dataDir: string) => path.join(dataDir, "cluster-leases.json");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readState(dataDir: string): LeaseState {
  let state: LeaseState = { holders: [], stopWhenIdle: false };
  try {
    state = JSON.parse(fs.readFileSync(stateFile(dataDir), "utf8")) as LeaseState;
  } catch {
    // No lease yet (or a torn file from a killed process): nobody holds one.
  }
  // Holders that died (SIGKILL, crash) gave nothing back: they no longer count.
  return { holders: (state.holders ?? []).filter((h) => alive(h.pid)), stopWhenIdle: Boolean(state.stopWhenIdle) };
}

function writeState(dataDir: string, state: LeaseState): void {
  const file = stateFile(dataDir);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

async function underLock<T>(dataDir: string, run: () => Promise<T>): Promise<T> {
  fs.mkdirSync(dataDir, { recursive: true });
  // Held while a fresh demo is created (tens of seconds); the lock's mtime is refreshed meanwhile,
  // so only a lock whose process died goes stale.
  const unlock = await lockfile.lock(stateFile(dataDir), {
    realpath: false,
    stale: 20_000,
    retries: { retries: 1_200, minTimeout: 50, maxTimeout: 250 },
  });
  try {
    return await run();
  } finally {
    await unlock().catch(() => {});
  }
}

export async function leaseDemoCluster(options: {
  dataDir: string;
  port: number;
  /** The rehearsal cluster's port (default port + 1). */
  shadowPort?: number;
  registry: Pick<EnvironmentRegistry, "environments">;
  catalog: () => Promise<Catalog>;
  kind: LeaseHolderKind;
  log: (line: string) => void;
  /** Throw the demo databases away first (refused while others hold leases). */
  fresh?: boolean;
}): Promise<ClusterLease> {
  const { dataDir, kind, log } = options;
  const id = randomUUID();
  const cluster = await underLock(dataDir, async () => {
    const state = readState(dataDir);
    if (options.fresh) {
      if (state.holders.length > 0) {
        throw new Error(`--fresh would delete the demo databases while other console processes use them (pids ${state.holders.map((h) => h.pid).join(", ")}); stop them first.`);
      }
      log("--fresh: deleting the demo databases");
      destroyLocalPostgres({ dataDir: path.join(dataDir, "postgres") });
    }
    const started = await startDemoCluster({ dataDir, port: options.port, shadowPort: options.shadowPort, registry: options.registry, log });
    await prepareDemoTargets(started, options.registry, await options.catalog(), log);
    if (!started.server.reused) state.stopWhenIdle = kind !== "console";
    state.holders.push({ id, pid: process.pid, kind, since: new Date().toISOString() });
    writeState(dataDir, state);
    return started;
  });

  let released = false;
  return {
    cluster,
    release: async () => {
      if (released) return false;
      released = true;
      return underLock(dataDir, async () => {
        const state = readState(dataDir);
        state.holders = state.holders.filter((h) => h.id !== id);
        const last = state.holders.length === 0;
        let stopped = false;
        if (kind === "console" && !last) {
          // The console leaves first: the last short-lived holder stops the cluster.
          state.stopWhenIdle = true;
        } else if (last && (kind === "console" || state.stopWhenIdle)) {
          await Promise.all([cluster.server.stop(), cluster.shadow.stop()]);
          state.stopWhenIdle = false;
          stopped = true;
        }
        writeState(dataDir, state);
        return stopped;
      });
    },
  };
}
