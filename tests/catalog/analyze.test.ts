import { describe, expect, it } from "vitest";
import { analyzeSql, SqlSyntaxError, type StatementAnalysis } from "@/lib/migrations";

async function one(sql: string): Promise<StatementAnalysis> {
  const statements = await analyzeSql(sql);
  expect(statements).toHaveLength(1);
  return statements[0]!.analysis;
}

describe("splitting", () => {
  it("splits a chunk into statements with the parser, keeping function bodies whole", async () => {
    const sql = [
      "CREATE TABLE a (id int); CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;",
      "-- a comment; with a semicolon",
      "INSERT INTO a VALUES (';')",
    ].join("\n");
    const statements = await analyzeSql(sql);
    expect(statements.map((s) => s.analysis.kind)).toEqual(["CreateStmt", "CreateFunctionStmt", "InsertStmt"]);
    expect(statements[1]!.sql).toBe("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$");
    expect(statements[2]!.sql).toBe("INSERT INTO a VALUES (';')");
    expect(statements.map((s) => [s.line, s.column])).toEqual([
      [1, 1],
      [1, 26],
      [3, 1],
    ]);
  });

  it("splits on drizzle breakpoints first and numbers statements across chunks", async () => {
    const statements = await analyzeSql("SELECT 1;\n--> statement-breakpoint\nSELECT 2; SELECT 3;\n");
    expect(statements.map((s) => [s.index, s.chunk, s.sql])).toEqual([
      [0, 0, "SELECT 1"],
      [1, 1, "SELECT 2"],
      [2, 1, "SELECT 3"],
    ]);
  });

  it("leaves trailing comments out of a statement without a semicolon", async () => {
    const [s] = await analyzeSql("UPDATE t SET a = 1 WHERE id = 2 -- backfill\n-- done\n");
    expect(s!.sql).toBe("UPDATE t SET a = 1 WHERE id = 2");
  });

  it("positions statements correctly after multi-byte characters", async () => {
    const [, second] = await analyzeSql("-- pacientes com situação cadastral\nSELECT 'ção'; SELECT 'é'");
    expect(second!.sql).toBe("SELECT 'é'");
    expect([second!.line, second!.column]).toEqual([2, 15]);
  });

  it("reports a syntax error with its line, column and the line's text", async () => {
    const error = await analyzeSql("SELECT 1;\nALTER TABLE pacientes ADD COLUMN situação text NOT NUL;", "adhoc.sql").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlSyntaxError);
    const e = error as SqlSyntaxError;
    // Column counts characters: the two accented letters before it must not shift it.
    expect([e.file, e.line, e.column]).toEqual(["adhoc.sql", 2, 52]);
    expect(e.parserMessage).toBe('syntax error at or near "NUL"');
    expect(e.lineText).toBe("ALTER TABLE pacientes ADD COLUMN situação text NOT NUL;");
    expect(e.message).toContain("adhoc.sql:2:52: syntax error");
  });
});

describe("transactions", () => {
  it("marks CREATE INDEX CONCURRENTLY non-transactional and names the index it builds", async () => {
    const a = await one('CREATE INDEX CONCURRENTLY IF NOT EXISTS "patients_cpf_idx" ON "clinic"."patients" ("cpf")');
    expect(a.transactional).toBe(false);
    expect(a.nonTransactionalReason).toMatch(/cannot run inside a transaction block/);
    expect(a.concurrentIndex).toEqual({ schema: "clinic", table: "patients", name: "patients_cpf_idx", ifNotExists: true });
    expect(a.lockLevel).toBe("SHARE UPDATE EXCLUSIVE");
    expect(a.summary).toBe("CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_cpf_idx ON clinic.patients");
  });

  it("gives an unqualified concurrent index the public schema, and flags an unnamed one", async () => {
    const named = await one("CREATE UNIQUE INDEX CONCURRENTLY p_idx ON patients (cpf)");
    expect(named.concurrentIndex).toEqual({ schema: "public", table: "patients", name: "p_idx", ifNotExists: false });
    const unnamed = await one("CREATE INDEX CONCURRENTLY ON patients (cpf)");
    expect(unnamed.concurrentIndex?.name).toBeNull();
    expect(unnamed.notes.join(" ")).toMatch(/Unnamed concurrent index/);
  });

  it("keeps plain CREATE INDEX transactional with a SHARE lock", async () => {
    const a = await one("CREATE INDEX p_idx ON patients (cpf)");
    expect([a.transactional, a.lockLevel, a.concurrentIndex]).toEqual([true, "SHARE", undefined]);
  });

  it.each([
    ["DROP INDEX CONCURRENTLY IF EXISTS patients_cpf_idx", "SHARE UPDATE EXCLUSIVE"],
    ["REINDEX INDEX CONCURRENTLY patients_cpf_idx", "SHARE UPDATE EXCLUSIVE"],
    ["REINDEX (CONCURRENTLY) TABLE patients", "SHARE UPDATE EXCLUSIVE"],
    ["REINDEX SCHEMA public", "ACCESS EXCLUSIVE"],
    ["VACUUM patients", "SHARE UPDATE EXCLUSIVE"],
    ["VACUUM (FULL, ANALYZE) patients", "ACCESS EXCLUSIVE"],
    ["ALTER TABLE events DETACH PARTITION events_2019 CONCURRENTLY", "SHARE UPDATE EXCLUSIVE"],
    ["CREATE DATABASE shadow", null],
    ["ALTER SYSTEM SET work_mem = '64MB'", null],
    ["CLUSTER", "ACCESS EXCLUSIVE"],
  ])("runs %s outside a transaction (lock %s)", async (sql, lock) => {
    const a = await one(sql);
    expect(a.transactional).toBe(false);
    expect(a.nonTransactionalReason).toBeTruthy();
    expect(a.lockLevel).toBe(lock);
  });

  it.each(["ANALYZE patients", "REINDEX TABLE patients", "REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "CREATE EXTENSION pgcrypto"])(
    "keeps %s transactional",
    async (sql) => {
      expect((await one(sql)).transactional).toBe(true);
    },
  );

  it("keeps ALTER TYPE ... ADD VALUE transactional (PostgreSQL 12+) with a note about using the value", async () => {
    const a = await one("ALTER TYPE appointment_status ADD VALUE IF NOT EXISTS 'no_show'");
    expect(a.transactional).toBe(true);
    expect(a.notes.join(" ")).toMatch(/cannot be used until the transaction that added it commits/);
    expect(a.summary).toBe("ALTER TYPE appointment_status ADD VALUE IF NOT EXISTS 'no_show'");
  });

  it("reads every form of transaction control as a TransactionStmt (which the lint and the executor refuse)", async () => {
    for (const sql of ["BEGIN", "START TRANSACTION", "COMMIT", "END", "ROLLBACK", "SAVEPOINT s", "RELEASE s", "ROLLBACK TO s", "PREPARE TRANSACTION 'x'"]) {
      const a = await one(sql);
      expect(a.kind).toBe("TransactionStmt");
      expect(a.transactional).toBe(false);
    }
  });
});

describe("locks", () => {
  it.each([
    ["CREATE TABLE visits (id int)", null],
    ["CREATE TABLE visits (id int, patient_id int REFERENCES patients (id))", "SHARE ROW EXCLUSIVE"],
    ["ALTER TABLE patients ADD COLUMN cns text", "ACCESS EXCLUSIVE"],
    ["ALTER TABLE visits ADD CONSTRAINT fk FOREIGN KEY (patient_id) REFERENCES patients (id) NOT VALID", "SHARE ROW EXCLUSIVE"],
    ["ALTER TABLE visits VALIDATE CONSTRAINT fk", "SHARE UPDATE EXCLUSIVE"],
    ["ALTER TABLE patients ALTER COLUMN cpf SET STATISTICS 1000", "SHARE UPDATE EXCLUSIVE"],
    ["ALTER TABLE patients ADD CONSTRAINT cpf_len CHECK (length(cpf) = 11) NOT VALID", "ACCESS EXCLUSIVE"],
    ["ALTER TABLE patients ENABLE ROW LEVEL SECURITY", "ACCESS EXCLUSIVE"],
    ["CREATE POLICY tenant ON patients USING (true)", "ACCESS EXCLUSIVE"],
    ["CREATE TRIGGER audit AFTER UPDATE ON patients FOR EACH ROW EXECUTE FUNCTION audit()", "SHARE ROW EXCLUSIVE"],
    ["DROP TABLE patients", "ACCESS EXCLUSIVE"],
    ["DROP INDEX patients_cpf_idx", "ACCESS EXCLUSIVE"],
    ["INSERT INTO patients (id) VALUES (1)", "ROW EXCLUSIVE"],
    ["UPDATE patients SET cpf = NULL WHERE id = 1", "ROW EXCLUSIVE"],
    ["DELETE FROM patients WHERE id = 1", "ROW EXCLUSIVE"],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", null],
  ])("%s takes %s", async (sql, lock) => {
    expect((await one(sql)).lockLevel).toBe(lock);
  });

  it("lists the lock on each relation, the referenced table's included", async () => {
    const a = await one("ALTER TABLE lgpd.consents ADD CONSTRAINT fk FOREIGN KEY (patient_id) REFERENCES patients (id)");
    expect(a.locks).toEqual([
      { relation: { schema: "lgpd", name: "consents" }, level: "SHARE ROW EXCLUSIVE" },
      { relation: { schema: "public", name: "patients" }, level: "SHARE ROW EXCLUSIVE" },
    ]);
    expect(a.tables).toEqual([
      { schema: "lgpd", name: "consents" },
      { schema: "public", name: "patients" },
    ]);
  });

  it("takes the strongest lock of several ALTER TABLE subcommands", async () => {
    const a = await one("ALTER TABLE patients ALTER COLUMN cpf SET STATISTICS 100, ADD COLUMN rg text");
    expect(a.lockLevel).toBe("ACCESS EXCLUSIVE");
  });

  it("counts tables read by a statement, not the names of its CTEs", async () => {
    const a = await one(
      "WITH late AS (SELECT id FROM appointments WHERE status = 'late') INSERT INTO audit.events (ref) SELECT id FROM late",
    );
    expect(a.locks).toEqual([
      { relation: { schema: "audit", name: "events" }, level: "ROW EXCLUSIVE" },
      { relation: { schema: "public", name: "appointments" }, level: "ACCESS SHARE" },
    ]);
  });
});

describe("destructive changes", () => {
  it.each([
    ["DROP TABLE patients", /drops table public.patients/],
    ["DROP SCHEMA lgpd", /drops schema lgpd/],
    ["ALTER TABLE patients DROP COLUMN rg", /drops column public.patients.rg/],
    ["TRUNCATE patients", /TRUNCATE deletes every row of public.patients/],
    ["DELETE FROM patients", /DELETE without WHERE/],
    ["UPDATE patients SET consent = false", /UPDATE without WHERE/],
    ["ALTER TABLE patients ALTER COLUMN cpf TYPE varchar(11)", /changes the type of public.patients.cpf/],
    ["DROP TYPE status CASCADE", /CASCADE/],
    ["ALTER TABLE visits DROP CONSTRAINT visits_pkey CASCADE", /CASCADE/],
    ["DROP SEQUENCE patients_id_seq", /sequence/],
    ["DROP DATABASE old_clinic", /drops database old_clinic/],
  ])("%s is destructive", async (sql, reason) => {
    const a = await one(sql);
    expect(a.destructive).toBe(true);
    expect(a.destructiveReason).toMatch(reason);
  });

  it.each([
    "DELETE FROM sessions WHERE expires_at < now()",
    "UPDATE patients SET consent = false WHERE id = 7",
    "DROP INDEX patients_cpf_idx",
    "DROP VIEW patient_summary",
    "DROP POLICY tenant ON patients",
    "ALTER TABLE patients ADD COLUMN rg text",
    "ALTER TABLE patients RENAME COLUMN rg TO rg_number",
    "DROP TYPE status",
  ])("%s is not destructive", async (sql) => {
    const a = await one(sql);
    expect(a.destructive).toBe(false);
    expect(a.destructiveReason).toBeNull();
  });
});

describe("columns, RLS and summaries", () => {
  it("lists the columns an ALTER TABLE changes", async () => {
    const a = await one(
      "ALTER TABLE patients ADD COLUMN cns varchar(15), DROP COLUMN rg, ALTER COLUMN cpf TYPE char(11), ALTER COLUMN name SET NOT NULL, ALTER COLUMN active SET DEFAULT true",
    );
    const patients = { schema: "public", name: "patients" };
    expect(a.columns).toEqual([
      { table: patients, name: "cns", action: "add", type: "varchar(15)" },
      { table: patients, name: "rg", action: "drop" },
      { table: patients, name: "cpf", action: "alter-type", type: "bpchar(11)" },
      { table: patients, name: "name", action: "set-not-null" },
      { table: patients, name: "active", action: "set-default" },
    ]);
  });

  it("lists a renamed column with its new name", async () => {
    const a = await one("ALTER TABLE patients RENAME COLUMN rg TO rg_number");
    expect(a.columns).toEqual([{ table: { schema: "public", name: "patients" }, name: "rg", action: "rename", newName: "rg_number" }]);
    expect(a.summary).toBe("ALTER TABLE public.patients RENAME COLUMN rg TO rg_number");
  });

  it("marks every row-level-security change", async () => {
    const statements = await analyzeSql(`
      ALTER TABLE patients ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
      ALTER TABLE patients NO FORCE ROW LEVEL SECURITY;
      ALTER TABLE patients DISABLE ROW LEVEL SECURITY;
      CREATE POLICY tenant ON patients AS RESTRICTIVE FOR SELECT TO app_user USING (clinic_id = current_setting('app.current_clinic_id')::uuid);
      ALTER POLICY tenant ON patients USING (true);
      ALTER POLICY tenant ON patients RENAME TO tenant_read;
      DROP POLICY tenant_read ON lgpd.consents;`);
    const patients = { schema: "public", name: "patients" };
    expect(statements.flatMap((s) => s.analysis.rls)).toEqual([
      { action: "enable", table: patients },
      { action: "force", table: patients },
      { action: "no-force", table: patients },
      { action: "disable", table: patients },
      { action: "create-policy", table: patients, policy: "tenant" },
      { action: "alter-policy", table: patients, policy: "tenant" },
      { action: "rename-policy", table: patients, policy: "tenant", newName: "tenant_read" },
      { action: "drop-policy", table: { schema: "lgpd", name: "consents" }, policy: "tenant_read" },
    ]);
    expect(statements[3]!.analysis.summary).toBe("CREATE POLICY tenant ON public.patients AS RESTRICTIVE FOR SELECT TO app_user");
  });

  it("keeps the parse tree for lint rules", async () => {
    const [s] = await analyzeSql("ALTER TABLE patients ENABLE ROW LEVEL SECURITY");
    expect(s!.ast).toMatchObject({ AlterTableStmt: { cmds: [{ AlterTableCmd: { subtype: "AT_EnableRowSecurity" } }] } });
  });

  it.each([
    ["GRANT SELECT, INSERT ON patients TO app_user", "GRANT SELECT, INSERT ON TABLE public.patients TO app_user"],
    ["REVOKE ALL ON TABLE patients FROM PUBLIC", "REVOKE ALL ON TABLE public.patients FROM PUBLIC"],
    ["ALTER TABLE patients ADD COLUMN cns varchar(15)", "ALTER TABLE public.patients ADD COLUMN cns varchar(15)"],
    ["DROP TABLE IF EXISTS a, lgpd.b CASCADE", "DROP TABLE IF EXISTS public.a, lgpd.b CASCADE"],
    ["DROP POLICY tenant ON patients", "DROP POLICY tenant ON public.patients"],
    ["ALTER TABLE events DETACH PARTITION events_2019 CONCURRENTLY", "ALTER TABLE public.events DETACH PARTITION public.events_2019 CONCURRENTLY"],
  ])("summarizes %s", async (sql, summary) => {
    expect((await one(sql)).summary).toBe(summary);
  });

  it("falls back to the statement's first words for kinds without a summary", async () => {
    const a = await one("SECURITY LABEL FOR selinux ON TABLE patients IS 'system_u:object_r:sepgsql_table_t:s0'");
    expect(a.kind).toBe("SecLabelStmt");
    expect(a.summary).toMatch(/^SECURITY LABEL FOR selinux ON TABLE patients IS .*\.\.\.$/);
    expect(a.summary.length).toBeLessThanOrEqual(80);
  });
});
