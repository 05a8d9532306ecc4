import path from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogError, loadCatalog, SqlSyntaxError, type Catalog, type CatalogErrorCode } from "@/lib/migrations";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";

const fixture = (name: string) => path.join(__dirname, "fixtures", name);

describe("a valid migrations folder", () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog(fixture("valid"));
  });

  it("lists migrations in journal order with the journal's fields", () => {
    expect(catalog.migrations.map((m) => [m.idx, m.tag, m.id, m.when])).toEqual([
      [0, "0000_patients", "0000_patients", 1735689600000],
      [1, "0001_consents_custom", "0001_consents_custom", 1735776000000],
      [2, "0002_cpf_index", "0002_cpf_index", 1735862400000],
    ]);
    expect(catalog.latest?.tag).toBe("0002_cpf_index");
    expect(catalog.byTag("0001_consents_custom")?.idx).toBe(1);
    expect(catalog.byTag("nope")).toBeUndefined();
    expect(catalog.migrations[0]!.file).toBe(path.join(fixture("valid"), "0000_patients.sql"));
    expect(catalog.warnings).toEqual([]);
  });

  it("computes the same checksum drizzle stores in __drizzle_migrations.hash", () => {
    const drizzle = readMigrationFiles({ migrationsFolder: fixture("valid") });
    expect(catalog.migrations.map((m) => [m.checksum, m.when])).toEqual(drizzle.map((d) => [d.hash, d.folderMillis]));
    // The CRLF file is hashed as is, line endings included.
    expect(catalog.byTag("0002_cpf_index")!.sql).toContain("\r\n");
  });

  it("splits several statements in one breakpoint chunk and positions them in the file", () => {
    const custom = catalog.byTag("0001_consents_custom")!;
    expect(custom.statements.map((s) => [s.chunk, s.line, s.column, s.analysis.kind])).toEqual([
      [0, 2, 1, "CreateStmt"],
      [0, 3, 1, "CreateFunctionStmt"],
      [0, 9, 1, "CreateTrigStmt"],
      [1, 11, 1, "AlterTableStmt"],
      [1, 11, 51, "AlterTableStmt"],
      [1, 12, 1, "CreatePolicyStmt"],
    ]);
    // The function body's semicolons and accented comments stay inside its statement.
    expect(custom.statements[1]!.sql).toMatch(/^CREATE FUNCTION consents_touch\(\)[\s\S]*não do cliente[\s\S]*END;\n\$\$$/);
    // A last statement without a semicolon stops before the comments that follow it.
    expect(custom.statements[5]!.sql.endsWith("::uuid)")).toBe(true);
    expect(custom.statements.flatMap((s) => s.analysis.rls.map((r) => r.action))).toEqual(["enable", "force", "create-policy"]);
  });

  it("marks the concurrent index non-transactional next to a transactional statement", () => {
    const [index, notNull] = catalog.byTag("0002_cpf_index")!.statements;
    expect(index!.analysis.transactional).toBe(false);
    expect(index!.analysis.concurrentIndex).toEqual({ schema: "public", table: "patients", name: "patients_cpf_idx", ifNotExists: true });
    expect(notNull!.analysis.transactional).toBe(true);
    expect([notNull!.line, notNull!.column, notNull!.sql]).toEqual([3, 1, 'ALTER TABLE "patients" ALTER COLUMN "cpf" SET NOT NULL']);
  });

  it("reads each rollback script, and null where there is none", () => {
    const [first, custom, index] = catalog.migrations;
    expect(first!.down?.file).toBe(path.join(fixture("valid"), "0000_patients.down.sql"));
    expect(first!.down?.statements.map((s) => s.analysis.summary)).toEqual(["DROP TABLE public.patients", "DROP TABLE public.clinics"]);
    expect(first!.down?.statements.every((s) => s.analysis.destructive)).toBe(true);
    expect(custom!.down).toBeNull();
    expect(index!.down?.statements[0]!.analysis.transactional).toBe(false);
    expect(index!.down?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  describe.runIf(hasServer(18))("on PostgreSQL", () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await freshDatabase({ prefix: "catalog_apply" });
    });
    afterAll(async () => db?.drop());

    it("applies statement by statement as split: transactional ones in a transaction, the others in autocommit", async () => {
      const run = async (statements: Catalog["migrations"][number]["statements"]) => {
        for (const s of statements) {
          if (s.analysis.transactional) await db.sql.begin((tx) => tx.unsafe(s.sql));
          else await db.sql.unsafe(s.sql);
        }
      };
      for (const m of catalog.migrations) await run(m.statements);
      const [index] = await db.sql<{ valid: boolean }[]>`
        SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'patients_cpf_idx'`;
      expect(index?.valid).toBe(true);

      await run(catalog.byTag("0002_cpf_index")!.down!.statements);
      const left = await db.sql`SELECT 1 FROM pg_class WHERE relname = 'patients_cpf_idx'`;
      expect(left).toHaveLength(0);
    });
  });
});

describe("warnings", () => {
  it("warns about a migration merged with an older `when`, and an empty one", async () => {
    const catalog = await loadCatalog(fixture("warnings"));
    expect(catalog.warnings.map((w) => [w.code, w.tag])).toEqual([
      ["when-not-increasing", "0001_merged_late"],
      ["empty-migration", "0001_merged_late"],
    ]);
    expect(catalog.warnings[0]!.message).toMatch(/drizzle .* would skip it/);
  });
});

describe("folders the console cannot use", () => {
  async function failure(name: string): Promise<CatalogError> {
    const error = await loadCatalog(fixture(name)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CatalogError);
    return error as CatalogError;
  }

  it.each<[string, CatalogErrorCode, string, RegExp]>([
    ["missing-file", "migration-file-missing", "0001_b.sql", /journal lists 0001_b but 0001_b.sql does not exist/],
    ["not-in-journal", "migration-not-in-journal", "0001_stray.sql", /not in meta\/_journal.json/],
    ["down-orphan", "down-without-up", "0001_gone.down.sql", /rollback for a migration the journal does not list/],
    ["bad-json", "journal-invalid", "_journal.json", /is not valid JSON/],
    ["bad-shape", "journal-invalid", "_journal.json", /entries\.0\.when/],
    ["no-journal", "journal-missing", "_journal.json", /has no meta\/_journal.json/],
    ["duplicate", "duplicate-entry", "_journal.json", /lists tag "0000_a" twice/],
  ])("%s → %s", async (name, code, file, message) => {
    const error = await failure(name);
    expect(error.code).toBe(code);
    expect(path.basename(error.file ?? "")).toBe(file);
    expect(error.message).toMatch(message);
  });

  it("names a folder that does not exist", async () => {
    const error = await failure("does-not-exist");
    expect(error.code).toBe("dir-missing");
    expect(error.file).toBe(fixture("does-not-exist"));
  });

  it("reports every syntax error in the folder, the first in journal order leading", async () => {
    const error = await failure("syntax-errors");
    expect(error).toBeInstanceOf(SqlSyntaxError);
    const summary = (error as SqlSyntaxError).all.map((e) => [path.basename(e.file!), e.line, e.column, e.parserMessage, e.lineText]);
    expect(summary).toEqual([
      ["0000_ok.down.sql", 1, 16, 'syntax error at or near "CASCAD"', 'DROP TABLE "a" CASCAD;'],
      ["0001_broken.sql", 5, 30, 'syntax error at or near "NUL"', '  ADD COLUMN "ação" text NOT NUL;'],
      ["0001_broken.sql", 7, 1, 'syntax error at or near "SELEC"', "SELEC 1;"],
    ]);
    expect(error.message).toContain(`${fixture("syntax-errors")}/0000_ok.down.sql:1:16: syntax error at or near "CASCAD"`);
    expect(error.message).toContain("2 more syntax errors");
  });
});
