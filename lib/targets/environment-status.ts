/** One environment's migration state for the pages: the ledger status, or why it cannot be read. */
import type { Catalog } from "../catalog";
import type { EnvironmentConfig } from "../config/environments";
import { ExecutorError, readStatus } from "../executor";
import type { LedgerStatus } from "../ledger";

export type EnvironmentStatus =
  | { environment: EnvironmentConfig; ok: true; status: LedgerStatus }
  | { environment: EnvironmentConfig; ok: false; error: string };

export async function environmentStatus(environment: EnvironmentConfig, catalog: Catalog): Promise<EnvironmentStatus> {
  if (!environment.url) return { environment, ok: false, error: `Not configured: ${environment.urlEnv} is unset.` };
  try {
    return { environment, ok: true, status: await readStatus(environment.url, catalog) };
  } catch (e) {
    return { environment, ok: false, error: e instanceof ExecutorError ? e.message : "The target's ledger could not be read." };
  }
}
