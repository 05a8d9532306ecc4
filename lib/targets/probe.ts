/** Whether a target database answers, within a bounded time, never throwing. */
import { asConnectionError, describeConnectionError, withConnection, type ConnectionErrorCode } from "../connection/connect";

export type TargetProbe =
  | { reachable: true; serverVersion: string; latencyMs: number }
  | { reachable: false; code: ConnectionErrorCode | "not_configured" | "error"; error: string };

export { describeConnectionError };

export async function probeTarget(url: string | null, timeoutSeconds = 3): Promise<TargetProbe> {
  if (!url) return { reachable: false, code: "not_configured", error: "Not configured: its URL environment variable is unset." };
  const started = performance.now();
  try {
    const version = await withConnection(url, { application: "migration-console probe", connectTimeoutMs: timeoutSeconds * 1000 }, async (sql) => {
      const [row] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
      return row!.version;
    });
    return { reachable: true, serverVersion: version, latencyMs: Math.round(performance.now() - started) };
  } catch (e) {
    return { reachable: false, code: asConnectionError(e)?.code ?? "error", error: describeConnectionError(e) };
  }
}
