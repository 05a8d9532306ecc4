/** Whether a target database answers, with a short timeout, never throwing. */
import postgres from "postgres";

export type TargetProbe =
  | { reachable: true; serverVersion: string; latencyMs: number }
  | { reachable: false; error: string };

export async function probeTarget(url: string | null, timeoutSeconds = 3): Promise<TargetProbe> {
  if (!url) return { reachable: false, error: "Not configured: its URL environment variable is unset." };
  const started = performance.now();
  const sql = postgres(url, { max: 1, connect_timeout: timeoutSeconds, idle_timeout: 1, onnotice: () => {} });
  try {
    const [row] = await Promise.race([
      sql<{ version: string }[]>`select current_setting('server_version') as version`,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutSeconds} s`)), timeoutSeconds * 1000)),
    ]);
    return { reachable: true, serverVersion: row!.version, latencyMs: Math.round(performance.now() - started) };
  } catch (e) {
    return { reachable: false, error: describeConnectionError(e) };
  } finally {
    void sql.end({ timeout: 1 });
  }
}

/** A connection failure in words, without the URL (it may carry a password). */
export function describeConnectionError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  switch (err.code) {
    case "ECONNREFUSED":
      return "Connection refused: no PostgreSQL is listening at that address.";
    case "ENOTFOUND":
      return "The database host name does not resolve.";
    case "CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return "The database did not answer in time.";
    case "28P01":
      return "Authentication failed: wrong user or password.";
    case "3D000":
      return "The database does not exist on that server.";
    default:
      return err.message ? err.message.replace(/postgres(ql)?:\/\/\S+/g, "(url)") : "Unknown connection error.";
  }
}
