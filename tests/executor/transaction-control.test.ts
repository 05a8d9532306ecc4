/**
 * A migration may not contain transaction control: the console owns the transaction a migration
 * runs in. The lint says so (error, with file and line) and the executor refuses the file before
 * its first statement, through the library and through the CLI (`apply` applies nothing).
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readStatus, rollbackMigrations } from "../../lib/executor";
import { lintMigrations } from "../../lib/lint";
import { loadCatalog } from "../../lib/migrations";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { drizzleRows, failure, fixtureCatalog, historyRows, migrationsFolder, positionOf, removeFixtureFolders, statements, tableExists } from "./support";

const root = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

const BASE = { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY)"), down: statements("DROP TABLE patients") };

/** Each form PostgreSQL's parser reads as a TransactionStmt, inside an otherwise valid migration. */
const FORMS = [
  "BEGIN",
  "START TRANSACTION",
  "COMMIT",
  "END",
  "ROLLBACK",
  "SAVEPOINT before_notes",
  "RELEASE SAVEPOINT before_notes",
  "ROLLBACK TO SAVEPOINT before_notes",
  "PREPARE TRANSACTION 'notes'",
  "COMMIT PREPARED 'notes'",
  "ROLLBACK PREPARED 'notes'",
];

function withControl(control: string): string {
  return statements("CREATE TABLE notes (id int PRIMARY KEY)", control, "ALTER TABLE patients ADD COLUMN note_id int");
}

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase({ prefix: "exec_txctl" });
});
afterAll(async () => {
  await db?.drop();
  removeFixtureFolders();
});

describe("transaction control in a migration file", () => {
  it.each(FORMS)("%s: a lint error at its line, and the executor refuses the file before anything runs", async (control) => {
    const up = withControl(control);
    const catalog = await fixtureCatalog([{ tag: "0000_with_control", up }]);
    const where = positionOf(up, control);

    const findings = await lintMigrations(catalog.migrations, { existingTables: new Set(["public.patients"]) });
    const hit = findings.filter((f) => f.rule === "console/transaction-control");
    expect(hit).toHaveLength(1);
    expect(hit[0]).toMatchObject({ severity: "error", tag: "0000_with_control", line: where.line, column: where.column });

    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "test" }));
    expect(error.code).toBe("transaction_control");
    expect(error.details.file).toMatch(/\/0000_with_control\.sql$/);
    expect(error.details).toMatchObject({ tag: "0000_with_control", line: where.line, column: where.column, statement: 2 });
    expect(error.message).toContain(`0000_with_control.sql:${where.line}:${where.column}:`);
    expect(error.details.leftBehind).toMatch(/Nothing was applied/);

    // Not even the statement before it ran, nor the ledger tables were created.
    expect(await tableExists(db.sql, "public.notes")).toBe(false);
    expect(await tableExists(db.sql, "drizzle.__drizzle_migrations")).toBe(false);
  });

  it("names the first occurrence and counts the others", async () => {
    const up = statements("BEGIN", "CREATE TABLE notes (id int)", "COMMIT");
    const catalog = await fixtureCatalog([{ tag: "0000_wrapped", up }]);
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "test" }));
    expect(error.details).toMatchObject({ line: 1, column: 1 });
    expect(error.message).toMatch(/BEGIN is transaction control \(and 1 more/);
  });

  it("is refused in a later migration of the run too, leaving the earlier ones unapplied", async () => {
    const target = await freshDatabase({ prefix: "exec_txctl_later" });
    try {
      const catalog = await fixtureCatalog([BASE, { tag: "0001_notes", up: withControl("COMMIT") }]);
      const error = await failure(applyMigrations({ url: target.url, catalog, actor: "test" }));
      expect(error.details.tag).toBe("0001_notes");
      expect(await tableExists(target.sql, "public.patients")).toBe(false);
      expect((await readStatus(target.url, catalog)).pending).toEqual(["0000_patients", "0001_notes"]);
    } finally {
      await target.drop();
    }
  });

  it("is refused in a rollback file, leaving the applied migration in place", async () => {
    const target = await freshDatabase({ prefix: "exec_txctl_down" });
    try {
      const catalog = await fixtureCatalog([{ ...BASE, down: statements("BEGIN", "DROP TABLE patients", "COMMIT") }]);
      await applyMigrations({ url: target.url, catalog, actor: "test" });
      const error = await failure(rollbackMigrations({ url: target.url, catalog, actor: "test", to: null }));
      expect(error.code).toBe("transaction_control");
      expect(error.details.file).toMatch(/\/0000_patients\.down\.sql$/);
      expect(await tableExists(target.sql, "public.patients")).toBe(true);
      expect(await historyRows(target.sql)).toHaveLength(1);
    } finally {
      await target.drop();
    }
  });

  it("`apply` from the CLI refuses `BEGIN; … COMMIT;` with exit 1, file and line, and applies nothing", async () => {
    const target = await freshDatabase({ prefix: "exec_txctl_cli" });
    try {
      const up = "BEGIN;\nCREATE TABLE notes (id int PRIMARY KEY);\nINSERT INTO notes VALUES (1);\nCOMMIT;\n";
      const dir = migrationsFolder([BASE, { tag: "0001_wrapped", up }]);
      const catalog = await loadCatalog(dir);
      const cli = async (args: string[]) =>
        run(process.execPath, [path.join(root, "cli/bin.cjs"), ...args], { cwd: root, timeout: 45_000 }).then(
          (r) => ({ code: 0, ...r }),
          (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
        );

      const json = await cli(["apply", "--database-url", target.url, "--migrations", dir, "--json"]);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({
        ok: false,
        error: { code: "transaction_control", file: expect.stringMatching(/\/0001_wrapped\.sql$/), line: 1, column: 1, tag: "0001_wrapped", leftBehind: expect.stringMatching(/Nothing was applied/) },
      });

      const text = await cli(["apply", "--database-url", target.url, "--migrations", dir]);
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(/^error: 0001_wrapped\.sql:1:1: BEGIN is transaction control/);

      expect(await tableExists(target.sql, "public.patients")).toBe(false);
      expect(await tableExists(target.sql, "public.notes")).toBe(false);
      expect((await readStatus(target.url, catalog)).current).toBeNull();
      expect(await tableExists(target.sql, "drizzle.__drizzle_migrations")).toBe(false);
    } finally {
      await target.drop();
    }
  }, 2 * 45_000 + 10_000);

  it("leaves drizzle's ledger as it was on a target that already has one", async () => {
    const target = await freshDatabase({ prefix: "exec_txctl_ledger" });
    try {
      const catalog = await fixtureCatalog([BASE, { tag: "0001_notes", up: withControl("END") }]);
      await applyMigrations({ url: target.url, catalog, actor: "test", to: "0000_patients" });
      const before = await drizzleRows(target.sql);
      await failure(applyMigrations({ url: target.url, catalog, actor: "test" }));
      expect(await drizzleRows(target.sql)).toEqual(before);
      expect(await tableExists(target.sql, "public.notes")).toBe(false);
    } finally {
      await target.drop();
    }
  });
});
