/** Every apply and rollback on every environment, from each target's own ledger history. */
import postgres from "postgres";
import type { EnvironmentConfig } from "../config/environments";
import { readLedger, type HistoryRow } from "../ledger";
import { describeConnectionError } from "./probe";

export type EnvironmentHistory = { environment: EnvironmentConfig; ok: true; rows: HistoryRow[] } | { environment: EnvironmentConfig; ok: false; error: string };

export async function environmentHistory(environment: EnvironmentConfig): Promise<EnvironmentHistory> {
  if (!environment.url) return { environment, ok: false, error: `Not configured: ${environment.urlEnv} is unset.` };
  const sql = postgres(environment.url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return { environment, ok: true, rows: (await readLedger(sql)).history };
  } catch (e) {
    return { environment, ok: false, error: describeConnectionError(e) };
  } finally {
    await sql.end({ timeout: 2 });
  }
}
