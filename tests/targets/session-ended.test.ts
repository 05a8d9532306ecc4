/**
 * A session the server ends under a transaction (a DBA's pg_terminate_backend, a restart, a failover)
 * fails that transaction with a connection error the caller can catch, and the process goes on.
 *
 * postgres.js 3.4.9 crashed the whole process here: its ROLLBACK after the failed query was queued
 * for a socket it had already let go of, and the write threw from a timer (porsager/postgres#1208).
 * The console's store, its backfills and its targets all go through the driver, so one terminated
 * backend took the console down; patches/postgres+3.4.9.patch guards that write.
 */
import { afterAll, describe, expect, it } from "vitest";
import type postgres from "postgres";
import { connect } from "../../lib/connection/connect";
import { adminUrl } from "../support/databases";

const opened: postgres.Sql[] = [];
const open = (application: string) => {
  const sql = connect(adminUrl(), { application, prepare: false, fetchTypes: false });
  opened.push(sql);
  return sql;
};
afterAll(async () => {
  await Promise.all(opened.map((s) => s.end({ timeout: 1 }).catch(() => {})));
});

async function terminateWhileBusy(sql: postgres.Sql, admin: postgres.Sql, work: () => Promise<unknown>): Promise<unknown> {
  const [{ pid } = { pid: 0 }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const outcome = work().then(
    () => null,
    (e: unknown) => e,
  );
  // Once the work is under way on the server, end its session from another one.
  for (let i = 0; i < 200; i++) {
    const [row] = await admin<{ active: boolean }[]>`select state = 'active' and query like '%pg_sleep%' as active from pg_stat_activity where pid = ${pid}`;
    if (row?.active) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await admin`select pg_terminate_backend(${pid})`;
  return outcome;
}

describe("a session ended by the server in the middle of a transaction", () => {
  it("fails sql.begin with a connection error, the process survives, and the next query gets a new session", async () => {
    const sql = open("session-ended begin");
    const admin = open("session-ended admin");
    const error = await terminateWhileBusy(sql, admin, () => sql.begin(async (tx) => tx`select pg_sleep(5)`));
    expect(error, "the transaction failed").not.toBeNull();
    // The server's own word for it (57P01, terminated by an administrator) or the driver's (the connection closed).
    expect((error as { code?: string }).code).toMatch(/^(57P01|CONNECTION_CLOSED)$/);
    // The driver's deferred write runs on the next turns of the event loop: give it those turns.
    await new Promise((r) => setTimeout(r, 200));
    const [{ ok } = { ok: 0 }] = await sql<{ ok: number }[]>`select 1 as ok`;
    expect(ok).toBe(1);
  });

  it("fails a reserved connection's next query instead of crashing, when the session was ended under it", async () => {
    const sql = open("session-ended reserved");
    const admin = open("session-ended admin 2");
    await sql`select 1`; // as the executor does: its session is open before it reserves it
    const reserved = await sql.reserve();
    const [{ pid } = { pid: 0 }] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await admin`select pg_terminate_backend(${pid})`;
    for (let i = 0; i < 100; i++) {
      const [row] = await admin<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where pid = ${pid}`;
      if (row?.n === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    const next = await reserved`select 1`.then(
      () => null,
      (e: unknown) => e,
    );
    expect((next as { code?: string } | null)?.code, "the query on the ended session failed").toBe("CONNECTION_CLOSED");
    // The driver's deferred write runs on the next turns of the event loop: give it those turns.
    await new Promise((r) => setTimeout(r, 200));
  });
});
