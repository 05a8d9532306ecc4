import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { failure, fixtureCatalog, indexIsValid, invalidIndexes, positionOf, recorder, removeFixtureFolders, statements } from "./support";

const UNIQUE_EMAIL = `-- Non-transactional: each CONCURRENTLY build stands alone, holding no table lock that blocks writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "people_lower_email_idx" ON "people" USING btree (lower("email"));
--> statement-breakpoint
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "people_email_key" ON "people" USING btree ("email");
`;

const MIGRATIONS = [
  { tag: "0000_people", up: statements("CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL)", "CREATE INDEX people_id_email_idx ON people (id, email)") },
  { tag: "0001_unique_email", up: UNIQUE_EMAIL },
];

async function seedDuplicates(db: TestDatabase): Promise<void> {
  await db.sql`insert into people (id, email) values (1, 'ana@example.com'), (2, 'bruno@example.com'), (3, 'ana@example.com')`;
}

describe("a CREATE INDEX CONCURRENTLY that fails", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_cic" });
    catalog = await fixtureCatalog(MIGRATIONS);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_people" });
    await seedDuplicates(db);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("fails with the file, line and column, leaves no index of the migration behind and does not record it", async () => {
    const { onEvent, of } = recorder();
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent }));

    expect(error.code).toBe("sql_error");
    const at = positionOf(UNIQUE_EMAIL, "CREATE UNIQUE INDEX");
    expect(at).toEqual({ line: 4, column: 1 });
    expect(error.details).toMatchObject({ tag: "0001_unique_email", statement: 2, line: at.line, column: at.column, sqlstate: "23505" });
    expect(error.details.file).toMatch(/0001_unique_email\.sql$/);
    expect(error.message).toMatch(/^0001_unique_email\.sql:4:1: could not create unique index "people_email_key"/);
    // The duplicated column, not its value: a patient's e-mail would reach the run log and the audit trail.
    expect(error.message).toContain("Key (email)=(values withheld) is duplicated.");
    expect(error.message).not.toContain("ana@example.com");

    expect(await invalidIndexes(db.sql)).toEqual([]);
    expect(await indexIsValid(db.sql, "people_email_key")).toBeNull();
    // The build that succeeded before the failure is taken back too: the target is as before the migration.
    expect(await indexIsValid(db.sql, "people_lower_email_idx")).toBeNull();
    expect(of("invalid_index_dropped").map((e) => e.index)).toEqual(["public.people_email_key", "public.people_lower_email_idx"]);
    expect(error.details.leftBehind).toMatch(/0001_unique_email is not recorded as applied/);

    const status = await readStatus(db.url, catalog);
    expect(status.migrations.map((m) => [m.tag, m.state])).toEqual([
      ["0000_people", "applied"],
      ["0001_unique_email", "pending"],
    ]);
  });

  it("succeeds on a rerun once the duplicates are gone, with a valid index", async () => {
    await db.sql`delete from people where id = 3`;
    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    expect(result.migrations).toEqual(["0001_unique_email"]);
    expect(result.status.pending).toEqual([]);
    expect(await indexIsValid(db.sql, "people_email_key")).toBe(true);
    expect(await indexIsValid(db.sql, "people_lower_email_idx")).toBe(true);
    expect(await invalidIndexes(db.sql)).toEqual([]);
  });
});

describe("an invalid index left by an earlier failed build", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_cic_left" });
    catalog = await fixtureCatalog(MIGRATIONS);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_people" });
    await seedDuplicates(db);
    // Someone tried by hand (or drizzle-kit did) and the build failed half-way.
    await expect(db.sql.unsafe(`CREATE UNIQUE INDEX CONCURRENTLY "people_email_key" ON "people" ("email")`)).rejects.toThrow(/could not create unique index/);
    await db.sql`delete from people where id = 3`;
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("is dropped and rebuilt instead of being kept forever by IF NOT EXISTS", async () => {
    expect(await invalidIndexes(db.sql)).toEqual(["people_email_key"]);

    const { onEvent, of } = recorder();
    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent });

    expect(result.migrations).toEqual(["0001_unique_email"]);
    expect(of("invalid_index_dropped")).toEqual([
      expect.objectContaining({ tag: "0001_unique_email", index: "public.people_email_key", reason: expect.stringMatching(/earlier failed build/) }),
    ]);
    expect(await invalidIndexes(db.sql)).toEqual([]);
    expect(await indexIsValid(db.sql, "people_email_key")).toBe(true);
    await expect(db.sql`insert into people (id, email) values (4, 'bruno@example.com')`).rejects.toThrow(/duplicate key/);
  });
});

describe("an index a migration builds, already made by hand before it ever ran", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_cic_by_hand" });
    catalog = await fixtureCatalog(MIGRATIONS);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_people" });
    // A DBA built the first index ahead of the deployment.
    await db.sql.unsafe(`CREATE INDEX CONCURRENTLY "people_lower_email_idx" ON "people" USING btree (lower("email"))`);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("is kept, and the run says it already existed rather than that an interrupted run built it", async () => {
    const { onEvent, of } = recorder();
    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent });
    expect(result.migrations).toEqual(["0001_unique_email"]);
    expect(of("statement_skipped")).toEqual([
      expect.objectContaining({ statement: 1, reason: "public.people_lower_email_idx already exists and is valid (no interrupted run of the console recorded building it)" }),
    ]);
    expect(await indexIsValid(db.sql, "people_email_key")).toBe(true);
    expect((await readStatus(db.url, catalog)).pending).toEqual([]);
  });
});

describe("an index swap that fails after the old index was dropped", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_cic_swap" });
    catalog = await fixtureCatalog([
      MIGRATIONS[0]!,
      {
        tag: "0001_swap_email_index",
        up: statements(
          'CREATE INDEX CONCURRENTLY IF NOT EXISTS "people_lower_email_idx" ON "people" USING btree (lower("email"))',
          'DROP INDEX CONCURRENTLY IF EXISTS "people_id_email_idx"',
          'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "people_email_key" ON "people" USING btree ("email")',
        ),
      },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_people" });
    await seedDuplicates(db);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("says what it could not take back instead of claiming the target is unchanged", async () => {
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error).toMatchObject({ code: "sql_error", details: { tag: "0001_swap_email_index", statement: 3 } });

    expect(await indexIsValid(db.sql, "people_lower_email_idx")).toBeNull();
    expect(await indexIsValid(db.sql, "people_id_email_idx")).toBeNull();
    expect(await invalidIndexes(db.sql)).toEqual([]);
    expect(error.details.leftBehind).not.toMatch(/as it was before/);
    expect(error.details.leftBehind).toMatch(/not recorded as applied/);
    expect(error.details.leftBehind).toMatch(/DROP INDEX CONCURRENTLY.*people_id_email_idx/);
  });
});

describe("a CONCURRENTLY build held up by a writer's open transaction", () => {
  let db: TestDatabase;
  let catalog: Catalog;
  let writer: postgres.Sql;
  let release = () => {};

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_cic_blocked" });
    catalog = await fixtureCatalog(MIGRATIONS);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_people" });
    writer = postgres(db.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    release();
    await writer?.end({ timeout: 1 });
    await db?.drop();
    removeFixtureFolders();
  });

  it("fails with lock_timeout naming the writer, says the invalid index it could not drop remains, and the next run cleans up", async () => {
    const released = new Promise<void>((r) => (release = r));
    let holds!: (pid: number) => void;
    const holding = new Promise<number>((r) => (holds = r));
    const writing = writer.begin(async (tx) => {
      const [{ pid } = { pid: 0 }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await tx.unsafe("insert into people (id, email) values (10, 'carla@example.com')");
      holds(pid);
      await released;
    });
    const writerPid = await holding;

    const { onEvent, of } = recorder();
    const error = await failure(
      applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent, options: { lockTimeoutMs: 300, maxRetries: 1, retryBaseDelayMs: 50 } }),
    );
    expect(error.code).toBe("lock_timeout");
    expect(error.details).toMatchObject({ tag: "0001_unique_email", statement: 1, line: 2, column: 1 });
    expect(error.message).toContain(`pid ${writerPid}`);
    expect(error.message).toContain("insert into people");
    expect(of("retry")).toHaveLength(1);
    // While the writer holds its lock nothing can remove the half-built index; the operator is told so.
    expect(await invalidIndexes(db.sql)).toEqual(["people_lower_email_idx"]);
    expect(error.details.leftBehind).toMatch(/invalid index .*public\.people_lower_email_idx/);
    expect(error.details.leftBehind).not.toMatch(/as it was before/);

    release();
    await writing;
    const { onEvent: onRerunEvent, of: rerunOf } = recorder();
    const rerun = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent: onRerunEvent });
    expect(rerun.migrations).toEqual(["0001_unique_email"]);
    expect(rerunOf("invalid_index_dropped").map((e) => e.index)).toEqual(["public.people_lower_email_idx"]);
    expect(await invalidIndexes(db.sql)).toEqual([]);
    expect(await indexIsValid(db.sql, "people_email_key")).toBe(true);
  });
});

describe("a migration whose unnamed CONCURRENTLY build committed before a later statement failed", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_cic_unnamed" });
    catalog = await fixtureCatalog([
      MIGRATIONS[0]!,
      { tag: "0001_email_indexes", up: statements('CREATE INDEX CONCURRENTLY ON "people" (lower("email"))', 'CREATE UNIQUE INDEX CONCURRENTLY "people_email_key" ON "people" ("email")') },
    ]);
    await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: "0000_people" });
    await seedDuplicates(db);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  const lowerEmailIndexes = async () =>
    (await db.sql<{ name: string }[]>`select indexname as name from pg_indexes where tablename = 'people' and indexdef like '%lower(email)%' order by 1`).map((r) => r.name);

  it("is not built a second time when the next apply completes the migration", async () => {
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.details).toMatchObject({ tag: "0001_email_indexes", statement: 2, sqlstate: "23505" });
    expect(await lowerEmailIndexes()).toHaveLength(1);
    const status = await readStatus(db.url, catalog);
    expect(status.migrations[1]).toMatchObject({ state: "partially_applied", partial: { statementsDone: 1, statementsTotal: 2 } });

    await db.sql`delete from people where id = 3`;
    const { onEvent, of } = recorder();
    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent });
    expect(result.migrations).toEqual(["0001_email_indexes"]);
    expect(of("statement_skipped").map((e) => e.statement)).toEqual([1]);
    expect(await lowerEmailIndexes()).toHaveLength(1);
    expect(await indexIsValid(db.sql, "people_email_key")).toBe(true);
    expect(result.status.pending).toEqual([]);
  });
});

describe("a migration whose transactional part committed before its CONCURRENTLY build failed", () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "exec_cic_mixed" });
    catalog = await fixtureCatalog([
      {
        tag: "0000_allergies",
        up: statements(
          "CREATE TABLE allergies (id int PRIMARY KEY, patient text NOT NULL)",
          "INSERT INTO allergies VALUES (1, 'ana'), (2, 'ana')",
          'CREATE UNIQUE INDEX CONCURRENTLY "allergies_patient_key" ON allergies (patient)',
        ),
      },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("shows what committed as partially applied, and the next apply runs only the rest", async () => {
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.details).toMatchObject({ tag: "0000_allergies", statement: 3, sqlstate: "23505" });
    expect(error.details.leftBehind).toMatch(/partially applied/);
    const status = await readStatus(db.url, catalog);
    expect(status.migrations[0]).toMatchObject({ state: "partially_applied", partial: { statementsDone: 2, statementsTotal: 3 } });

    await db.sql`delete from allergies where id = 2`;
    const { onEvent, of } = recorder();
    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", onEvent });
    expect(of("statement_skipped").map((e) => e.statement)).toEqual([1, 2]);
    expect(result.status.pending).toEqual([]);
    expect(await indexIsValid(db.sql, "allergies_patient_key")).toBe(true);
  });
});
