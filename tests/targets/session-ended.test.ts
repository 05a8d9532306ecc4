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

  it("a reserved connection handed back after its session ended leaves the pool working (the next queries get a new session)", async () => {
    // As the backfill runner does: reserve, lose the session, release in a finally. With the patch's
    // first version the release counted the closed connection as open, and every later query of a
    // one-connection pool failed with CONNECTION_CLOSED, for good.
    const sql = open("session-ended released");
    const admin = open("session-ended admin 3");
    await sql`select 1`;
    const reserved = await sql.reserve();
    const error = await terminateWhileBusy(reserved as unknown as postgres.Sql, admin, () => reserved`select pg_sleep(5)`);
    expect((error as { code?: string } | null)?.code).toMatch(/^(57P01|CONNECTION_CLOSED)$/);
    reserved.release();
    for (let i = 0; i < 3; i++) {
      const [{ ok } = { ok: 0 }] = await sql<{ ok: number }[]>`select 1 as ok`;
      expect(ok).toBe(1);
    }
  });

  it("fails the queries queued on a reserved connection with its session, instead of leaving them unsettled", async () => {
    const sql = open("session-ended queued");
    const admin = open("session-ended admin 4");
    await sql`select 1`;
    const reserved = await sql.reserve();
    const settled = (q: Promise<unknown>) =>
      Promise.race([q.then(() => "answered", (e: { code?: string }) => e.code), new Promise((r) => setTimeout(r, 3_000, "unsettled"))]);
    const outcomes = await terminateWhileBusy(reserved as unknown as postgres.Sql, admin, () =>
      // A query with parameters fills the connection (postgres.js waits for its Describe): the next ones queue behind it.
      Promise.all([reserved`select pg_sleep(5)`, reserved`select ${1}::int`, reserved`select ${2}::int`, reserved`select 3`].map(settled)).then((xs) => {
        throw xs;
      }),
    );
    expect(outcomes).toHaveLength(4);
    for (const o of outcomes as string[]) expect(o).toMatch(/^(57P01|CONNECTION_CLOSED)$/);
    reserved.release();
  });

  it("fails a transaction's statements sent after its session ended, rather than run them outside it on the reconnected connection", async () => {
    const sql = open("session-ended late statement");
    const admin = open("session-ended admin 5");
    await admin`create table if not exists session_ended_late (x int)`;
    await admin`truncate session_ended_late`;
    await sql`select 1`;
    let late: unknown = "not sent";
    const error = await terminateWhileBusy(sql, admin, () =>
      sql.begin(async (tx) => {
        await tx`select pg_sleep(5)`.catch(() => {});
        // Meanwhile the pool reconnects the connection for another query.
        await sql`select 1`.catch(() => {});
        late = await tx`insert into session_ended_late values (1)`.then(
          () => "inserted",
          (e: { code?: string }) => e.code,
        );
      }),
    );
    expect((error as { code?: string } | null)?.code).toMatch(/^(57P01|CONNECTION_CLOSED)$/);
    await new Promise((r) => setTimeout(r, 300));
    expect(late).toBe("CONNECTION_CLOSED");
    const [{ n } = { n: -1 }] = await admin<{ n: number }[]>`select count(*)::int as n from session_ended_late`;
    expect(n, "nothing of the transaction ran outside it").toBe(0);
    await admin`drop table session_ended_late`;
  });
});
