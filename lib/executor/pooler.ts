/**
 * Is this connection one session of its own, or a transaction-mode pooler (PgBouncer
 * pool_mode=transaction, Supavisor on 6543) handing each transaction to whichever server
 * connection is free? There, a session advisory lock, a SET and CONCURRENTLY's autocommit steps
 * land on server connections other clients then get, and two applies can both "hold" the lock.
 *
 * `SHOW pool_mode` only works on PgBouncer's admin console, so the probe asks PostgreSQL instead:
 * 1. Who is on the other end? The client port the server sees for our backend (inet_client_port(),
 *    null over a Unix socket) equals our socket's local port on a direct connection. If it does, this is a direct session: done (one
 *    round trip, which also connects).
 * 2. Otherwise something sits in between (a pooler in either mode, a tunnel, NAT). Then a second
 *    connection through the same URL opens a transaction and keeps it open, pinning a server
 *    connection; we then run another statement on the first connection. A session of our own keeps
 *    its backend: the pid is unchanged and the statement runs at once. A transaction pooler gives
 *    the statement another backend (pid changes), or makes it wait for the pinned one (pool size 1).
 *    PgBouncer reuses the most recently released server first, so the pin usually takes our own
 *    previous backend and the first round decides; three rounds cover poolers that hand out servers
 *    in another order.
 * The probe sets nothing and locks nothing, so it leaves no trace on a pooled server connection.
 */
import type postgres from "postgres";
import { socketFactsOf, withDeadline } from "../connection/connect";
import { ExecutorError } from "./errors";

const ROUNDS = 3;
/** A statement of ours that waits this long while another client idles in a transaction is waiting for a pooled server. */
const WAIT_MEANS_POOLED_MS = 1_500;

/**
 * Connects `sql` (within the bound) and returns its backend pid, and whether nothing sits between us
 * and PostgreSQL (then closing the connection ends the server session too); throws
 * `transaction_pooler` behind one.
 */
export async function assertNotTransactionPooler(
  sql: postgres.Sql,
  monitor: postgres.Sql,
  options: { connectTimeoutMs: number; directUrlHint?: string },
): Promise<{ pid: number; direct: boolean }> {
  const [first] = await withDeadline(
    sql<{ pid: number; client_port: number | null }[]>`select pg_backend_pid() as pid, inet_client_port() as client_port`,
    options.connectTimeoutMs + 1_000,
  );
  const facts = socketFactsOf(sql);
  const ourPort = facts?.localPort ?? null;
  const serverSees = first!.client_port;
  if (serverSees === ourPort) return { pid: first!.pid, direct: true };

  for (let round = 0; round < ROUNDS; round++) {
    const [{ pid: before } = { pid: 0 }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    let pinned!: () => void;
    let release!: () => void;
    const isPinned = new Promise<void>((r) => (pinned = r));
    const released = new Promise<void>((r) => (release = r));
    let pinnedPid = 0;
    const holder = monitor
      .begin(async (tx) => {
        pinnedPid = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
        pinned();
        await released;
      })
      .catch((e: unknown) => {
        pinned();
        throw e;
      });
    holder.catch(() => {});
    try {
      await withDeadline(isPinned, options.connectTimeoutMs + 1_000);
      // A pin that failed proves nothing: that round's failure is the answer.
      if (!pinnedPid) await holder;
      const next = sql<{ pid: number }[]>`select pg_backend_pid() as pid`.then((rows) => rows[0]!.pid);
      next.catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const after = await Promise.race([next, new Promise<"waited">((r) => (timer = setTimeout(() => r("waited"), WAIT_MEANS_POOLED_MS)))]).finally(() => clearTimeout(timer));
      if (after === "waited") {
        throw refusal(`a statement had to wait for a server connection while another client of the same URL sat idle in a transaction (pid ${pinnedPid})`, options.directUrlHint);
      }
      if (after !== before) {
        throw refusal(`two consecutive statements of one session ran on different server processes (pid ${before}, then pid ${after})`, options.directUrlHint);
      }
    } finally {
      release();
      await holder.catch(() => {});
    }
  }
  const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  return { pid: row!.pid, direct: false };
}

function refusal(evidence: string, directUrlHint: string | undefined): ExecutorError {
  const fix = directUrlHint
    ? `Set ${directUrlHint} to the database's direct connection (not the pooler) and try again.`
    : `Use the database's direct connection instead (on Supabase the "direct connection" string, port 5432 on db.<project>.supabase.co), or a pooler in session mode; for an environment, name it with "directUrlEnv" in the registry.`;
  return new ExecutorError(
    "transaction_pooler",
    `Refused: this URL goes through a connection pooler in transaction mode (${evidence}). An apply needs one session for its whole run (the target's apply lock, lock and statement timeouts, CONCURRENTLY index builds); through this pooler they would land on connections other clients get. Nothing was applied, locked or set. ${fix}`,
  );
}
