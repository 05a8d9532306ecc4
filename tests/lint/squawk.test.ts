/** Squawk's violations land on the right statement, line and column, with the console's severities. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { lintMigrations, lintSql, LintError, RULES, SQUAWK_RULES } from "@/lib/lint";
import { byRule, lint, lintSet, migration, TARGET_TABLES } from "./helpers";

const fixture = (name: string) => readFile(path.join(__dirname, "fixtures", name), "utf8");

/** 1-based line and UTF-16 column of the n-th occurrence of `needle`. */
function locate(text: string, needle: string, nth = 1): { line: number; column: number } {
  let at = -1;
  for (let i = 0; i < nth; i++) at = text.indexOf(needle, at + 1);
  expect(at, needle).toBeGreaterThanOrEqual(0);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

describe("positions", () => {
  it("maps violations after multi-byte text to the right statement, line and column", async () => {
    const sql = await fixture("positions.sql");
    const findings = await lint(sql);
    const required = byRule(findings, "squawk/adding-required-field");
    expect(required.map((f) => [f.statement, f.line, f.column])).toEqual([
      [2, locate(sql, "ADD COLUMN", 1).line, locate(sql, "ADD COLUMN", 1).column],
      [3, locate(sql, "ADD COLUMN", 2).line, locate(sql, "ADD COLUMN", 2).column],
    ]);
    // Squawk counts UTF-8 bytes: "situação" and "✓" would shift a byte-based column to the right.
    expect(required[1]!.column).toBe(locate(sql, 'ADD COLUMN "observação"').column);
    const [fk] = byRule(findings, "squawk/adding-foreign-key-constraint");
    expect(fk).toMatchObject({ statement: 4, ...locate(sql, 'CONSTRAINT "appointments_créator_fk"') });
    expect(fk!.squawk).toMatchObject({ rule: "adding-foreign-key-constraint", level: "Warning" });
  });

  it("handles CRLF line endings", async () => {
    const sql = (await fixture("positions.sql")).replaceAll("\n", "\r\n");
    const required = byRule(await lint(sql), "squawk/adding-required-field");
    expect(required.map((f) => [f.line, f.column])).toEqual([
      [locate(sql, "ADD COLUMN", 1).line, locate(sql, "ADD COLUMN", 1).column],
      [locate(sql, "ADD COLUMN", 2).line, locate(sql, "ADD COLUMN", 2).column],
    ]);
  });

  it("maps each violation to its own file when several migrations are linted in one squawk run", async () => {
    const findings = await lintSet([
      "SELECT 1;\n--> statement-breakpoint\nALTER TABLE patients ADD COLUMN a text NOT NULL;",
      "ALTER TABLE clinics ALTER COLUMN name TYPE varchar(200);",
    ]);
    expect(byRule(findings, "squawk/adding-required-field").map((f) => [f.tag, f.statement, f.line])).toEqual([["0000_m0", 2, 3]]);
    expect(byRule(findings, "console/column-type-rewrite").map((f) => [f.tag, f.statement, f.line])).toEqual([["0001_m1", 1, 1]]);
  });
});

describe("severities", () => {
  it("keeps lock rules as warnings on existing tables and lowers them to info on tables new in this deployment", async () => {
    const check = "ALTER TABLE notes ADD CONSTRAINT notes_positive CHECK (n > 0);";
    const existing = byRule(await lintSet([check], new Set([...TARGET_TABLES, "public.notes"])), "squawk/constraint-missing-not-valid");
    expect(existing.map((f) => f.severity)).toEqual(["warning"]);
    expect(existing[0]!.adjusted).toBeUndefined();

    const fresh = byRule(await lintSet(["CREATE TABLE notes (id uuid, n int);", check]), "squawk/constraint-missing-not-valid");
    expect(fresh.map((f) => f.severity)).toEqual(["info"]);
    expect(fresh[0]!.adjusted).toContain("created earlier in this deployment");

    // A foreign key also locks the table it references, which exists: not lowered.
    const fk = byRule(
      await lintSet(["CREATE TABLE notes (id uuid, patient_id uuid);", "ALTER TABLE notes ADD CONSTRAINT notes_patient_fk FOREIGN KEY (patient_id) REFERENCES patients (id);"]),
      "squawk/adding-foreign-key-constraint",
    );
    expect(fk.map((f) => f.severity)).toEqual(["warning"]);
  });

  it("reports missing timeouts as info: the executor sets them", async () => {
    const findings = await lint("ALTER TABLE patients ADD COLUMN nickname text;");
    const timeouts = findings.filter((f) => f.rule === "squawk/require-lock-timeout" || f.rule === "squawk/require-statement-timeout");
    expect(timeouts.map((f) => f.severity)).toEqual(["info", "info"]);
    expect(timeouts[0]!.why).toContain("executor");
  });

  it("drops prefer-robust-stmts for transactional statements and keeps it for CONCURRENTLY ones", async () => {
    expect(byRule(await lint("ALTER TABLE patients ADD COLUMN nickname text;"), "squawk/prefer-robust-stmts")).toEqual([]);
    const concurrent = byRule(await lint("CREATE INDEX CONCURRENTLY patients_name_idx ON patients (full_name);"), "squawk/prefer-robust-stmts");
    expect(concurrent.map((f) => f.severity)).toEqual(["warning"]);
    const robust = await lint("CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_name_idx ON patients (full_name);");
    expect(robust.filter((f) => f.severity !== "info")).toEqual([]);
  });
});

describe("findings", () => {
  it("have stable unique ids and come sorted by migration, statement and rule", async () => {
    const sql = "CREATE TABLE t (a int, b int, c timestamp);\nALTER TABLE patients DROP COLUMN cpf, DROP COLUMN cns;";
    const first = await lint(sql);
    const again = await lint(sql);
    expect(again.map((f) => f.id)).toEqual(first.map((f) => f.id));
    expect(new Set(first.map((f) => f.id)).size).toBe(first.length);
    expect(first.map((f) => f.id)).toContain("sql:2:console/drop-tagged-column#2");
    const keys = first.map((f) => [f.statement, f.rule] as const);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    expect(keys).toEqual(sorted);
  });

  it("follow the order the migrations run in, so a rollback's down scripts read newest first", async () => {
    const newestFirst = await Promise.all([migration(1, "0001_b", "DROP TABLE notes;"), migration(0, "0000_a", "ALTER TABLE patients DROP COLUMN rg;")]);
    const findings = await lintMigrations(newestFirst, { existingTables: new Set([...TARGET_TABLES, "public.notes"]) });
    expect([...new Set(findings.map((f) => f.tag))]).toEqual(["0001_b", "0000_a"]);
  });

  it("name rules the registry describes", async () => {
    const findings = await lint(await fixture("positions.sql"));
    for (const f of findings) {
      expect(RULES[f.rule], f.rule).toBeDefined();
      expect(f.why).toBe(RULES[f.rule]!.why);
    }
    for (const [name, rule] of Object.entries(SQUAWK_RULES)) {
      if (rule.treatment === "superseded") expect(RULES[`squawk/${name}`]).toBeUndefined();
      else expect(RULES[`squawk/${name}`]?.severity).toBe(rule.severity);
    }
  });
});

describe("when squawk cannot run", () => {
  it("throws a typed error instead of skipping the safety rules", async () => {
    const missing = await lintSql("SELECT 1", { existingTables: new Set(), squawkBinary: "/nonexistent/squawk" }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LintError);
    expect(missing).toMatchObject({ code: "squawk-unavailable" });
    expect((missing as Error).message).toContain("npm ci");

    const broken = await lintSql("SELECT 1", { existingTables: new Set(), squawkBinary: "/bin/false" }).catch((e: unknown) => e);
    expect(broken).toMatchObject({ name: "LintError", code: "squawk-failed" });
  });
});
