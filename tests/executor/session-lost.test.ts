/**
 * The run's session holds the apply lock and its timeouts. postgres.js reconnects on its own when a
 * connection closes, so after the session is lost (terminated, a network reset) the next statement
 * would run on a new session: without the lock, without lock_timeout, and outside any transaction
 * the run thinks it is in. The run stops instead, and says what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { randomUUID } from "node:crypto";
import { applyMigrations, readStatus, rollbackMigrations } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { targetOf, tcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { advisoryLockHolders, failure, fixtureCatalog, historyRows, indexIsValid, removeFixtureFolders, statements, tableExists, waitFor } from "./support";

describe("a run whose session is lost between two migrations", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)") },
      { tag: "0001_allergies", up: statements("CREATE TABLE allergies (id int PRIMARY KEY, patient_id int REFERENCES patients)") },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("stops before the next migration instead of running it on a new session, and says why", async () => {
    const run = applyMigrations({
      url: db.url,
      catalog,
      actor: "ana@clinic.example",
      beforeMigration: async ({ tag, sql }) => {
        if (tag !== "0001_allergies") return;
        const [{ pid } = { pid: 0 }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await db.sql`select pg_terminate_backend(${pid})`;
        // The session is gone on the server; the client hears of it as the socket closes.
        await expect.poll(async () => (await db.sql`select 1 from pg_stat_activity where pid = ${pid}`).length, { timeout: 10_000 }).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 100));
      },
    });

    const error = await failure(run);
    expect(error.code).toBe("unreachable");
    expect(error.message).toMatch(/connection to the target was lost during the run|cannot be reached/);
    expect(await tableExists(db.sql, "public.patients")).toBe(true);
    expect(await tableExists(db.sql, "public.allergies")).toBe(false);
    expect((await historyRows(db.sql)).map((h) => h.tag)).toEqual(["0000_patients"]);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0001_allergies"]);
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
  });
});

describe("a run whose session is lost while its transaction's statements are on the wire", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_tx" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)", "SELECT pg_sleep(30)", "CREATE TABLE allergies (id int PRIMARY KEY)") },
      { tag: "0001_referrals", up: statements("CREATE TABLE referrals (id int PRIMARY KEY)") },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("fails the migration, commits nothing of it, runs nothing after it, and leaves no lock", async () => {
    const run = applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    // The statements were sent together: the session is killed while the second one runs, with the third queued behind it.
    const sleeper = await waitForSleeper(db);
    await db.sql`select pg_terminate_backend(${sleeper})`;

    const error = await failure(run);
    expect(error.code).toBe("unreachable");
    expect(error.details.tag).toBe("0000_patients");
    for (const table of ["public.patients", "public.allergies", "public.referrals"]) expect(await tableExists(db.sql, table)).toBe(false);
    expect(await historyRows(db.sql)).toEqual([]);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0000_patients", "0001_referrals"]);
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
  });
});

describe("a rollback whose session is lost after its statements, before it restores its backups", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_down" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)") },
      { tag: "0001_allergies", up: statements("CREATE TABLE allergies (id int PRIMARY KEY)"), down: statements("DROP TABLE allergies") },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("fails as lost, sends nothing more on the dead connection, and rolls nothing back", async () => {
    const runId = randomUUID();
    const error = await failure(
      rollbackMigrations({
        url: db.url,
        catalog,
        actor: "ana@clinic.example",
        to: "0000_patients",
        runId,
        // The last statement has answered; its transaction is still open when the session goes.
        onEvent: async (e) => {
          if (e.type !== "statement_finished") return;
          const [{ pid } = { pid: 0 }] = await db.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name like ${`migration-console ${runId} %`}`;
          await db.sql`select pg_terminate_backend(${pid})`;
          await expect.poll(async () => (await db.sql`select 1 from pg_stat_activity where pid = ${pid}`).length, { timeout: 10_000 }).toBe(0);
          await new Promise((resolve) => setTimeout(resolve, 100));
        },
      }),
    );

    expect(error.code).toBe("unreachable");
    expect(error.details.tag).toBe("0001_allergies");
    expect(await tableExists(db.sql, "public.allergies")).toBe(true);
    expect((await historyRows(db.sql)).map((h) => `${h.tag} ${h.direction}`)).toEqual(["0000_patients up", "0001_allergies up"]);
    expect((await readStatus(db.url, catalog)).current).toBe("0001_allergies");
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
  });
});

/**
 * Forwards TCP to `target`. Armed, it cuts the connection on which PostgreSQL answers a COMMIT (or `command`),
 * without passing that answer on: the transaction committed, and the client never hears it.
 */
async function commitCuttingProxy(target: { host: string; port: number }, command = "COMMIT"): Promise<TcpProxy & { arm: () => void; cut: () => boolean }> {
  const ANSWER = Buffer.concat([Buffer.from([0x43, 0, 0, 0, 4 + command.length + 1]), Buffer.from(`${command}\0`)]);
  let armed = false;
  let cut = false;
  const proxy = await tcpProxy(target, () => {
    // The answer can straddle two chunks: the end of the last one is kept.
    let tail = Buffer.alloc(0);
    return (chunk, direction) => {
      if (direction === "toServer") return "pass";
      const seen = Buffer.concat([tail, chunk]);
      tail = seen.subarray(-ANSWER.length);
      if (!armed || cut || !seen.includes(ANSWER)) return "pass";
      cut = true;
      return "cut";
    };
  });
  return {
    ...proxy,
    arm: () => {
      armed = true;
    },
    cut: () => cut,
  };
}

describe("a run whose connection is lost after PostgreSQL committed the migration, before the answer came back", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  let proxy: Awaited<ReturnType<typeof commitCuttingProxy>>;
  let url: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_commit" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, mrn text)") },
      { tag: "0001_mrn", up: statements('CREATE INDEX CONCURRENTLY "patients_mrn_idx" ON patients (mrn)', "ALTER TABLE patients ADD COLUMN born date") },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_patients" });
    proxy = await commitCuttingProxy(targetOf(db.url));
    url = proxy.through(db.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.drop();
    removeFixtureFolders();
  });

  it("does not claim the target is as it was, and takes nothing back of what committed", async () => {
    const error = await failure(
      applyMigrations({
        url,
        catalog,
        actor: "ana@clinic.example",
        onEvent: (e) => {
          if (e.type === "migration_started" && e.tag === "0001_mrn") proxy.arm();
        },
      }),
    );

    expect(proxy.cut()).toBe(true);
    expect(error.code).toBe("unreachable");
    expect(error.details.tag).toBe("0001_mrn");
    expect(error.details.leftBehind).not.toMatch(/as it was/);
    expect(error.details.leftBehind).toMatch(/may have committed/);
    // PostgreSQL did commit it, with its ledger row; its index is still there.
    expect((await readStatus(db.url, catalog)).migrations.map((m) => m.state)).toEqual(["applied", "applied"]);
    expect(await indexIsValid(db.sql, "patients_mrn_idx")).toBe(true);
    await expect.poll(() => advisoryLockHolders(db.sql), { timeout: 10_000 }).toEqual([]);
  });
});

describe("a run whose session is lost while a transaction longer than postgres.js's pipeline waits behind it", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_long" });
    // postgres.js keeps 100 queries on the wire; the rest of the transaction, its COMMIT included, waits in its queue.
    const columns = Array.from({ length: 150 }, (_, i) => `ALTER TABLE patients ADD COLUMN c${i} int`);
    catalog = await fixtureCatalog([{ tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)", "SELECT pg_sleep(30)", ...columns) }]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("fails as lost instead of waiting forever for answers that cannot come", async () => {
    const run = failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    const sleeper = await waitForSleeper(db);
    await db.sql`select pg_terminate_backend(${sleeper})`;

    const outcome = await Promise.race([run, new Promise<"still waiting">((resolve) => setTimeout(() => resolve("still waiting"), 15_000))]);
    expect(outcome).not.toBe("still waiting");
    expect((outcome as Exclude<typeof outcome, string>).code).toBe("unreachable");
    expect(await tableExists(db.sql, "public.patients")).toBe(false);
    expect(await historyRows(db.sql)).toEqual([]);
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
  });
});

async function waitForSleeper(db: TestDatabase): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const [row] = await db.sql<{ pid: number }[]>`
      select pid from pg_stat_activity where datname = current_database() and query like 'SELECT pg_sleep(30)%' and state = 'active'`;
    if (row) return row.pid;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the migration's pg_sleep never started");
}

describe("a run whose session is lost while it pauses between lock-wait attempts", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_retry" });
    await db.sql`create table patients (id int primary key, mrn text)`;
    catalog = await fixtureCatalog([{ tag: "0000_mrn_index", up: statements("CREATE INDEX CONCURRENTLY patients_mrn_idx ON patients (mrn)") }]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("does not run the next attempt on a new session without the apply lock", async () => {
    const runId = randomUUID();
    const blocker = await db.sql.reserve();
    await blocker`begin`;
    await blocker`lock table patients in access exclusive mode`;
    let blockerOpen = true;
    try {
      const error = await failure(
        applyMigrations({
          url: db.url,
          catalog,
          actor: "ana@clinic.example",
          runId,
          options: { initialLockTimeoutMs: 50, lockTimeoutMs: 200, retryBaseDelayMs: 300, maxRetryDelayMs: 300, maxRetries: 5 },
          // The first attempt timed out: the session goes during the pause, and the blocker ends with it.
          onEvent: async (e) => {
            if (e.type !== "retry" || !blockerOpen) return;
            const [{ pid } = { pid: 0 }] = await db.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name like ${`migration-console ${runId} %`}`;
            await db.sql`select pg_terminate_backend(${pid})`;
            await expect.poll(async () => (await db.sql`select 1 from pg_stat_activity where pid = ${pid}`).length, { timeout: 10_000 }).toBe(0);
            await new Promise((resolve) => setTimeout(resolve, 100));
            await blocker`commit`;
            blockerOpen = false;
          },
        }),
      );
      expect(error.code).toBe("unreachable");
      expect(error.message).toMatch(/connection to the target was lost during the run/);
      // The statement never ran again: nothing of it is in doubt.
      expect(error.details.leftBehind).toBe("0000_mrn_index is not recorded as applied and the target is as it was before it.");
    } finally {
      if (blockerOpen) await blocker`rollback`;
      blocker.release();
    }
    expect(await indexIsValid(db.sql, "patients_mrn_idx")).toBeNull();
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0000_mrn_index"]);
    expect(await advisoryLockHolders(db.sql)).toEqual([]);
  });
});

describe("a run whose session is lost while it builds an index", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_build" });
    await db.sql.unsafe(`
      create table patients (id int primary key, mrn text);
      insert into patients select g, 'mrn' || g from generate_series(1, 20) g;
      create function slow_mrn(text) returns text language plpgsql immutable as $$ begin perform pg_sleep(0.05); return $1; end $$;`);
    catalog = await fixtureCatalog([{ tag: "0000_mrn_index", up: statements("CREATE INDEX CONCURRENTLY patients_mrn_idx ON patients (slow_mrn(mrn))") }]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("fails as lost at once, writing nothing on a new session, and says its invalid index may remain", async () => {
    // A report reading the table in an open transaction: a DROP INDEX CONCURRENTLY would wait for it to end.
    const reader = await db.sql.reserve();
    await reader`begin`;
    await reader`select count(*) from patients`;
    try {
      const run = applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
      const builder = await waitFor(async () => (await db.sql`select 1 from pg_stat_activity where query like 'CREATE INDEX CONCURRENTLY%' and state = 'active'`).length > 0, 10_000);
      expect(builder).not.toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where query like 'CREATE INDEX CONCURRENTLY%' and state = 'active'`;
      const settled = await Promise.race([failure(run), new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000))]);
      expect(settled, "the run settles without waiting for the reader").not.toBeNull();
      expect(settled!.code).toBe("unreachable");
      expect(await indexIsValid(db.sql, "patients_mrn_idx")).toBe(false);
      expect(settled!.details.leftBehind).toMatch(/invalid index may remain \(public\.patients_mrn_idx\)/);
    } finally {
      await reader`rollback`;
      reader.release();
    }
    // The next apply drops the leftover and builds the index.
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    expect(await indexIsValid(db.sql, "patients_mrn_idx")).toBe(true);
  });
});

describe("a rollback whose connection is lost after PostgreSQL ran its autocommit statement, before the answer came back", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  let proxy: Awaited<ReturnType<typeof commitCuttingProxy>>;
  let url: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_autocommit" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, mrn text)") },
      { tag: "0001_mrn", up: statements("CREATE INDEX CONCURRENTLY patients_mrn_idx ON patients (mrn)"), down: statements("DROP INDEX CONCURRENTLY patients_mrn_idx") },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    proxy = await commitCuttingProxy(targetOf(db.url), "DROP INDEX");
    url = proxy.through(db.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.drop();
    removeFixtureFolders();
  });

  it("does not claim the target is as it was: the statement may have run", async () => {
    const error = await failure(
      rollbackMigrations({
        url,
        catalog,
        actor: "ana@clinic.example",
        to: "0000_patients",
        onEvent: (e) => {
          if (e.type === "migration_started" && e.tag === "0001_mrn") proxy.arm();
        },
      }),
    );

    expect(proxy.cut()).toBe(true);
    expect(error.code).toBe("unreachable");
    expect(error.details.tag).toBe("0001_mrn");
    // PostgreSQL did drop the index; the ledger still says applied.
    expect(await indexIsValid(db.sql, "patients_mrn_idx")).toBeNull();
    expect(error.details.leftBehind).not.toMatch(/as it was/);
    expect(error.details.leftBehind).toMatch(/DROP INDEX.*may have completed/);
    expect((await readStatus(db.url, catalog)).migrations.map((m) => m.state)).toEqual(["applied", "applied"]);
  });
});

describe("a rollback whose connection is lost after PostgreSQL committed a transaction that records nothing", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  let proxy: Awaited<ReturnType<typeof commitCuttingProxy>>;
  let url: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_lost_down_part" });
    catalog = await fixtureCatalog([
      { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, mrn text)") },
      {
        tag: "0001_mrn",
        up: statements("ALTER TABLE patients ALTER COLUMN mrn SET DEFAULT 'unknown'", "CREATE INDEX CONCURRENTLY patients_mrn_idx ON patients (mrn)"),
        down: statements("ALTER TABLE patients ALTER COLUMN mrn DROP DEFAULT", "DROP INDEX CONCURRENTLY patients_mrn_idx"),
      },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    proxy = await commitCuttingProxy(targetOf(db.url));
    url = proxy.through(db.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.drop();
    removeFixtureFolders();
  });

  it("does not say the target's status tells whether it committed", async () => {
    const error = await failure(
      rollbackMigrations({
        url,
        catalog,
        actor: "ana@clinic.example",
        to: "0000_patients",
        onEvent: (e) => {
          if (e.type === "migration_started" && e.tag === "0001_mrn") proxy.arm();
        },
      }),
    );

    expect(proxy.cut()).toBe(true);
    expect(error.code).toBe("unreachable");
    // The first transaction committed; the ledger, written only with the last, still says applied.
    const [{ dflt } = { dflt: "?" }] = await db.sql<{ dflt: string | null }[]>`select column_default as dflt from information_schema.columns where table_name = 'patients' and column_name = 'mrn'`;
    expect(dflt).toBeNull();
    expect((await readStatus(db.url, catalog)).migrations.map((m) => m.state)).toEqual(["applied", "applied"]);
    expect(error.details.leftBehind).toMatch(/may have committed/);
    expect(error.details.leftBehind).not.toMatch(/status says which/);
  });
});
