/**
 * The error of an apply or a rehearsal names the first statement that failed, with its file, line and
 * PostgreSQL's own message, never the "current transaction is aborted" that follows it: here a
 * CREATE INDEX CONCURRENTLY inside the file's own BEGIN/COMMIT.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/catalog";
import { applyMigrations, readStatus } from "../../lib/executor";
import { lintMigrations } from "../../lib/lint";
import { plan } from "../plan/support";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { failure, fixtureCatalog, invalidIndexes, removeFixtureFolders, statements } from "./support";

const IN_TRANSACTION = "BEGIN;\nCREATE INDEX CONCURRENTLY notes_body_idx ON notes (body);\nCOMMIT;\n";
let catalog: Catalog;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  catalog = await fixtureCatalog([
    { tag: "0000_notes", up: statements("CREATE TABLE notes (id serial PRIMARY KEY, body text)") },
    { tag: "0001_index_in_transaction", up: IN_TRANSACTION },
  ]);
});
afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()));
  removeFixtureFolders();
});

async function target(): Promise<TestDatabase> {
  const db = await freshDatabase({ prefix: "failing_stmt" });
  databases.push(db);
  return db;
}

describe("CREATE INDEX CONCURRENTLY inside the file's own BEGIN/COMMIT", () => {
  it("apply: the error is the CREATE INDEX's, at its file and line", async () => {
    const db = await target();
    const error = await failure(applyMigrations({ url: db.url, catalog, to: null, actor: "test" }));
    expect(error.code).toBe("sql_error");
    expect(error.message).toBe("0001_index_in_transaction.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
    expect(error.message).not.toMatch(/aborted/);
    expect(error.details).toMatchObject({ tag: "0001_index_in_transaction", statement: 2, line: 2, column: 1, sqlstate: "25001" });
    expect(error.details.file).toMatch(/0001_index_in_transaction\.sql$/);
    // Nothing half-applied is reported as applied, and the target is usable afterwards.
    const status = await readStatus(db.url, catalog);
    expect(status.current).toBe("0000_notes");
    expect(await invalidIndexes(db.sql)).toEqual([]);
  });

  it("rehearsal: the plan's error says the same, and where", async () => {
    const db = await target();
    await applyMigrations({ url: db.url, catalog, to: "0000_notes", actor: "test" });
    const planned = await plan(db, catalog);
    expect(planned.rehearsal.ok).toBe(false);
    expect(planned.rehearsal.error).toBe("0001_index_in_transaction.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
    expect(planned.rehearsal.failed).toMatchObject({ tag: "0001_index_in_transaction", statement: 2, line: 2, sqlstate: "25001" });
  });

  it("the lint already says why, before any rehearsal", async () => {
    const findings = await lintMigrations([catalog.byTag("0001_index_in_transaction")!], { existingTables: new Set(["public.notes"]) });
    expect(findings.filter((f) => f.severity === "error").map((f) => f.rule)).toEqual(
      expect.arrayContaining(["squawk/ban-concurrent-index-creation-in-transaction"]),
    );
  });
});
