/** One environment's migration state for the pages: the ledger status, or why it cannot be read. */
import type { Catalog } from "../migrations";
import type { EnvironmentConfig } from "../config/environments";
import { ExecutorError, readStatus } from "../executor";
import type { LedgerStatus } from "../ledger";

export type EnvironmentStatus =
  | { environment: EnvironmentConfig; ok: true; status: LedgerStatus }
  | { environment: EnvironmentConfig; ok: false; code: string; error: string };

export async function environmentStatus(environment: EnvironmentConfig, catalog: Catalog): Promise<EnvironmentStatus> {
  if (!environment.url) return { environment, ok: false, code: "not_configured", error: `Not configured: ${environment.urlEnv} is unset.` };
  try {
    // A page waits for this: bounded well below the executor's connect bound.
    return { environment, ok: true, status: await readStatus(environment.url, catalog, { connectTimeoutMs: 5_000 }) };
  } catch (e) {
    return e instanceof ExecutorError
      ? { environment, ok: false, code: e.code, error: e.message }
      : { environment, ok: false, code: "error", error: "The target's ledger could not be read." };
  }
}
