/**
 * The boot of the worker and the CLI: the same openConsole(), with the configuration step that
 * fills in the demo's embedded cluster (under a lease shared with the console and other commands)
 * when no CONSOLE_DATABASE_URL is set.
 */
import type { EnvironmentConfig } from "../config/environments";
import { loadRegistry } from "../config/env";
import type { LeaseHolderKind } from "../embedded/cluster-lease";
import { consoleEnvironment } from "../embedded/console-env";
import { openConsole, withoutEmpty, type BootOptions, type ConsoleFace, type OpenConsole, type PreparedEnvironment } from "./index";

const LEASE_HOLDER: Record<ConsoleFace, LeaseHolderKind> = { web: "console", worker: "worker", cli: "cli" };

async function prepare(options: Pick<BootOptions, "root" | "env" | "log">, kind: LeaseHolderKind): Promise<PreparedEnvironment> {
  const given = withoutEmpty(options.env);
  if (given.CONSOLE_DATABASE_URL) return { env: given, release: async () => false };
  return consoleEnvironment(given, options.root, { log: options.log, kind });
}

export async function openConsoleProcess(options: BootOptions): Promise<OpenConsole> {
  return openConsole({ ...options, prepared: await prepare(options, LEASE_HOLDER[options.face]) });
}

/**
 * Only the targets, for commands that read or change a target without the console's store (CLI
 * status, envs, direct apply): the registry with every URL, the demo's cluster filling in unset ones.
 */
export async function openTargets(
  options: Pick<BootOptions, "root" | "env" | "log">,
): Promise<{ environments: EnvironmentConfig[]; shadowUrl: string | null; release(): Promise<boolean> }> {
  const registry = loadRegistry(options.env, options.root);
  const given = withoutEmpty(options.env);
  if (registry.environments.every((e) => e.url) || given.CONSOLE_DATABASE_URL) {
    return { environments: registry.environments, shadowUrl: given.SHADOW_DATABASE_URL ?? null, release: async () => false };
  }
  const prepared = await prepare(options, "cli");
  return { environments: loadRegistry(prepared.env, options.root).environments, shadowUrl: prepared.env.SHADOW_DATABASE_URL ?? null, release: prepared.release };
}
