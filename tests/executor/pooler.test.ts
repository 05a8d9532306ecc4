/**
 * The executor behind a real PgBouncer. In transaction mode every statement may run on another
 * server connection, so the apply lock, SET and CONCURRENTLY would leak to other clients: the
 * executor must find out before it takes its lock, refuse, and leave nothing behind. In session
 * mode a client keeps its server connection: applies work and exclude each other.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus, type RunResult } from "../../lib/executor";
import { adminUrl, freshDatabase, type TestDatabase } from "../support/databases";
import { hasPgBouncer, startPgBouncer, type PgBouncer } from "../support/pgbouncer";
import { testPorts } from "../support/ports";
import { advisoryLockHolders, failure, fixtureCatalog, historyRows, removeFixtureFolders, statements, tableExists } from "./support";

const clients: postgres.Sql[] = [];
function client(url: string, max = 1): postgres.Sql {
  const c = postgres(url, { max, onnotice: () => {}, prepare: false });
  clients.push(c);
  return c;
}

/** Session settings as every server connection of a pool has them: `n` clients in open transactions at once cover them all. */
async function settingsOnEveryServerConnection(url: string, n: number): Promise<{ pid: number; lockTimeout: string; statementTimeout: string; checkInterval: string; advisoryLocks: number }[]> {
  const sessions = Array.from({ length: n }, () => client(url));
  let arrived = 0;
  let allIn!: () => void;
  const together = new Promise<void>((r) => (allIn = r));
  return Promise.all(
    sessions.map((s) =>
      s.begin(async (tx) => {
        const [row] = await tx<{ pid: number; lock_timeout: string; statement_timeout: string; check_interval: string; advisory: number }[]>`
          select pg_backend_pid() as pid, current_setting('lock_timeout') as lock_timeout, current_setting('statement_timeout') as statement_timeout,
                 current_setting('client_connection_check_interval') as check_interval,
                 (select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as advisory`;
        if (++arrived === n) allIn();
        await together;
        return { pid: row!.pid, lockTimeout: row!.lock_timeout, statementTimeout: row!.statement_timeout, checkInterval: row!.check_interval, advisoryLocks: row!.advisory };
      }),
    ),
  );
}

const POOL_SIZE = 4;

describe.runIf(hasPgBouncer())("applying through PgBouncer", () => {
  let transactionPool: PgBouncer;
  let sessionPool: PgBouncer;
  let catalog: Catalog;
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    [transactionPool, sessionPool] = await Promise.all([
      startPgBouncer({ port: testPorts.pgbouncer, mode: "transaction", serverUrl: adminUrl(18), poolSize: POOL_SIZE }),
      startPgBouncer({ port: testPorts.pgbouncerSession, mode: "session", serverUrl: adminUrl(18), poolSize: POOL_SIZE }),
    ]);
    catalog = await fixtureCatalog([
      { tag: "0000_visits", up: statements("CREATE TABLE visits (id int PRIMARY KEY, patient text)", "SELECT pg_sleep(1)") },
      { tag: "0001_visit_patient_idx", up: statements('CREATE INDEX CONCURRENTLY IF NOT EXISTS "visits_patient_idx" ON "visits" ("patient")') },
    ]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    await Promise.all(databases.map((d) => d.drop()));
    await Promise.all([transactionPool?.stop(), sessionPool?.stop()]);
    removeFixtureFolders();
  });

  const database = async (prefix: string) => {
    const db = await freshDatabase({ prefix });
    databases.push(db);
    return db;
  };

  it.each([
    ["alone on the pool", 0],
    ["while the application uses the same pool", 3],
  ])("in transaction mode, refuses before taking its lock (%s): nothing applied, locked or set", async (_, appClients) => {
    const db = await database("pool_tx");
    const pooled = transactionPool.url(db.name);
    // Application traffic through the same pool keeps its server connections busy and rotating.
    let running = true;
    const traffic = Array.from({ length: appClients }, () => client(pooled)).map(async (app) => {
      while (running) await app`select pg_backend_pid(), pg_sleep(0.005)`;
    });

    const error = await failure(applyMigrations({ url: pooled, catalog, actor: "ana@clinic.example", directUrlHint: "TARGET_LOCAL_DIRECT_URL" })).finally(() => (running = false));
    await Promise.all(traffic);
    expect(error.code).toBe("transaction_pooler");
    expect(error.message).toMatch(/transaction mode/);
    expect(error.message).toContain("Set TARGET_LOCAL_DIRECT_URL to the database's direct connection");
    expect(error.message).toMatch(/Nothing was applied, locked or set/);

    // Nothing applied: not even the ledger tables exist.
    expect(await tableExists(db.sql, "drizzle.__drizzle_migrations")).toBe(false);
    expect(await tableExists(db.sql, "public.visits")).toBe(false);
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
    // Nothing set on any server connection another client gets next.
    const servers = await settingsOnEveryServerConnection(pooled, POOL_SIZE);
    expect(new Set(servers.map((s) => s.pid)).size).toBe(POOL_SIZE);
    for (const s of servers) expect(s).toMatchObject({ lockTimeout: "0", statementTimeout: "0", checkInterval: "0", advisoryLocks: 0 });

    // The same target through its direct URL applies.
    const direct = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    expect(direct.migrations).toEqual(["0000_visits", "0001_visit_patient_idx"]);
  });

  it("without a direct URL variable, says to use the direct connection", async () => {
    const db = await database("pool_tx");
    const error = await failure(readStatus(db.url, catalog).then(() => applyMigrations({ url: transactionPool.url(db.name), catalog, actor: "ana@clinic.example" })));
    expect(error.code).toBe("transaction_pooler");
    expect(error.message).toMatch(/direct connection/);
    expect(error.message).toMatch(/directUrlEnv/);
  });

  it("in session mode, applies and leaves nothing set or locked on the server connections it gives back", async () => {
    const db = await database("pool_session");
    const pooled = sessionPool.url(db.name);
    const result = await applyMigrations({ url: pooled, catalog, actor: "ana@clinic.example", options: { lockTimeoutMs: 1500, statementTimeoutMs: 60_000 } });
    expect(result.migrations).toEqual(["0000_visits", "0001_visit_patient_idx"]);
    expect((await readStatus(db.url, catalog)).pending).toEqual([]);
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
    const servers = await settingsOnEveryServerConnection(pooled, 2);
    for (const s of servers) expect(s).toMatchObject({ lockTimeout: "0", statementTimeout: "0", checkInterval: "0", advisoryLocks: 0 });
  });

  it("in session mode, two concurrent applies give exactly one", async () => {
    const db = await database("pool_session");
    const pooled = sessionPool.url(db.name);
    const attempt = (actor: string) =>
      applyMigrations({ url: pooled, catalog, actor }).then(
        (result: RunResult) => ({ actor, result, error: null as unknown }),
        (error: unknown) => ({ actor, result: null, error }),
      );
    const outcomes = await Promise.all([attempt("ana@clinic.example"), attempt("bruno@clinic.example")]);
    const winners = outcomes.filter((o) => o.result);
    const losers = outcomes.filter((o) => o.error);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect((losers[0]!.error as { code?: string }).code).toBe("target_locked");
    expect((await historyRows(db.sql)).map((h) => [h.tag, h.actor])).toEqual([
      ["0000_visits", winners[0]!.actor],
      ["0001_visit_patient_idx", winners[0]!.actor],
    ]);
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
  });
});
