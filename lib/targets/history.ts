/** Every apply and rollback on every environment, from each target's own ledger history. */
import type { EnvironmentConfig } from "../config/environments";
import { readLedger, type HistoryRow } from "../ledger";
import { describeConnectionError, withConnection } from "../connection/connect";

export type EnvironmentHistory = { environment: EnvironmentConfig; ok: true; rows: HistoryRow[] } | { environment: EnvironmentConfig; ok: false; error: string };

export async function environmentHistory(environment: EnvironmentConfig): Promise<EnvironmentHistory> {
  if (!environment.url) return { environment, ok: false, error: `Not configured: ${environment.urlEnv} is unset.` };
  try {
    const rows = await withConnection(environment.url, { application: "migration-console history", connectTimeoutMs: 5_000 }, async (sql) => (await readLedger(sql)).history);
    return { environment, ok: true, rows };
  } catch (e) {
    return { environment, ok: false, error: describeConnectionError(e) };
  }
}
