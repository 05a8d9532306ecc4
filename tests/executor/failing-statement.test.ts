/**
 * The error of an apply or a rehearsal names the first statement that failed, with its file, line and
 * why, never the "current transaction is aborted" that follows it: a CREATE INDEX CONCURRENTLY inside
 * the file's own BEGIN/COMMIT (refused before anything runs, at the BEGIN), and one inside a DO block
 * (PostgreSQL's own message, at the DO).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus } from "../../lib/executor";
import { lintMigrations } from "../../lib/lint";
import { plan } from "../plan/support";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { failure, fixtureCatalog, invalidIndexes, removeFixtureFolders, statements } from "./support";

const IN_TRANSACTION = "BEGIN;\nCREATE INDEX CONCURRENTLY notes_body_idx ON notes (body);\nCOMMIT;\n";
const IN_DO_BLOCK = "-- built from a function\nDO $$ BEGIN CREATE INDEX CONCURRENTLY notes_body_idx ON notes (body); END $$;\n";
let inTransaction: Catalog;
let inDoBlock: Catalog;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  const notes = { tag: "0000_notes", up: statements("CREATE TABLE notes (id serial PRIMARY KEY, body text)") };
  inTransaction = await fixtureCatalog([notes, { tag: "0001_index_in_transaction", up: IN_TRANSACTION }]);
  inDoBlock = await fixtureCatalog([notes, { tag: "0001_index_in_do_block", up: IN_DO_BLOCK }]);
});
afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()));
  removeFixtureFolders();
});

async function target(catalog?: Catalog): Promise<TestDatabase> {
  const db = await freshDatabase({ prefix: "failing_stmt" });
  databases.push(db);
  if (catalog) await applyMigrations({ url: db.url, catalog, to: "0000_notes", actor: "test" });
  return db;
}

describe("CREATE INDEX CONCURRENTLY inside the file's own BEGIN/COMMIT", () => {
  it("apply: refused at the BEGIN, with file and line, before anything runs", async () => {
    const db = await target();
    const error = await failure(applyMigrations({ url: db.url, catalog: inTransaction, to: null, actor: "test" }));
    expect(error.message).toMatch(/^0001_index_in_transaction\.sql:1:1: BEGIN is transaction control/);
    expect(error.message).not.toMatch(/aborted/);
    expect(error.details).toMatchObject({ tag: "0001_index_in_transaction", statement: 1, line: 1, column: 1 });
    expect((await readStatus(db.url, inTransaction)).current).toBeNull();
  });

  it("rehearsal: the plan's error says the same, and where", async () => {
    const planned = await plan(await target(inTransaction), inTransaction);
    expect(planned.rehearsal.ok).toBe(false);
    expect(planned.rehearsal.error).toMatch(/^0001_index_in_transaction\.sql:1:1: BEGIN is transaction control/);
    expect(planned.rehearsal.failed).toMatchObject({ tag: "0001_index_in_transaction", statement: 1, line: 1 });
  });

  it("the lint already says why, before any rehearsal", async () => {
    const findings = await lintMigrations([inTransaction.byTag("0001_index_in_transaction")!], { existingTables: new Set(["public.notes"]) });
    expect(findings.filter((f) => f.severity === "error").map((f) => f.rule)).toEqual(expect.arrayContaining(["squawk/ban-concurrent-index-creation-in-transaction"]));
  });
});

describe("CREATE INDEX CONCURRENTLY inside a DO block", () => {
  it("apply and rehearsal: PostgreSQL's message, at the DO statement's file and line", async () => {
    const db = await target(inDoBlock);
    const error = await failure(applyMigrations({ url: db.url, catalog: inDoBlock, to: null, actor: "test" }));
    expect(error.code).toBe("sql_error");
    expect(error.message).toMatch(/^0001_index_in_do_block\.sql:2:\d+: CREATE INDEX CONCURRENTLY cannot (run inside a transaction block|be executed from a function)/);
    expect(error.details).toMatchObject({ tag: "0001_index_in_do_block", statement: 1, line: 2 });
    expect((await readStatus(db.url, inDoBlock)).current).toBe("0000_notes");
    expect(await invalidIndexes(db.sql)).toEqual([]);

    const planned = await plan(await target(inDoBlock), inDoBlock);
    expect(planned.rehearsal.error).toMatch(/^0001_index_in_do_block\.sql:2:\d+: CREATE INDEX CONCURRENTLY cannot (run inside a transaction block|be executed from a function)/);
    expect(planned.rehearsal.failed).toMatchObject({ line: 2, sqlstate: error.details.sqlstate });
  });
});
