/**
 * What the lint sees beyond squawk: strong locks held for longer than a catalog change, type changes
 * that do (or do not) rewrite, regulated-looking columns nobody classified, SECURITY DEFINER without a
 * fixed search_path, advice PostgreSQL can follow, squawk run for the target's version. Each rule fires
 * on its case and stays quiet on the safe alternative.
 */
import { describe, expect, it } from "vitest";
import { lintSql, RULES, type Finding } from "@/lib/lint";
import { byRule, lint, lintSet, TARGET_TABLES } from "./helpers";

const lintWith = (sql: string, extra: Partial<Parameters<typeof lintSql>[1]> = {}) => lintSql(sql, { existingTables: TARGET_TABLES, ...extra });
const rules = (findings: Finding[]) => [...new Set(findings.filter((f) => f.severity !== "info").map((f) => f.rule))].sort();

describe("strong locks held longer than a catalog change", () => {
  it("warns with the lock, the table and why, where no squawk rule does", async () => {
    for (const [sql, why] of [
      ["VACUUM FULL patients", /rewrites the whole table/],
      ["CLUSTER patients USING patients_pkey", /rewrites the whole table in index order/],
      ["ALTER TABLE patients SET TABLESPACE pg_default", /rewrites the whole table/],
      ["ALTER TABLE patients SET UNLOGGED", /rewrites the whole table/],
    ] as const) {
      const [hit, ...more] = byRule(await lint(sql), "console/long-lock");
      expect(more, sql).toEqual([]);
      expect(hit?.severity, sql).toBe("warning");
      expect(hit!.message).toContain("ACCESS EXCLUSIVE on public.patients");
      expect(hit!.message).toMatch(why);
    }
  });

  it("warns about a brief change whose lock is kept to the end of a transaction that then does slow work", async () => {
    const sql = "ALTER TABLE patients ADD COLUMN nickname_x text;\n--> statement-breakpoint\nUPDATE patients SET nickname_x = 'n' WHERE is_active;";
    const [hit] = byRule(await lint(sql), "console/long-lock");
    expect(hit!.statement).toBe(1);
    expect(hit!.message).toMatch(/ACCESS EXCLUSIVE on public\.patients until the transaction commits, through statement 2 \(UPDATE/);
  });

  it("stays quiet on brief catalog-only changes", async () => {
    for (const sql of [
      "ALTER TABLE patients ADD COLUMN nickname_x text DEFAULT 'none'",
      "ALTER TABLE patients ADD COLUMN seen_at timestamptz DEFAULT now()",
      "ALTER TABLE patients ADD CONSTRAINT p_score CHECK (no_show_risk_score < 1000) NOT VALID",
      "ALTER TABLE appointments ADD CONSTRAINT a_fk FOREIGN KEY (patient_id) REFERENCES patients (id) NOT VALID",
      "ALTER TABLE patients ADD CONSTRAINT p_mrn_unique UNIQUE USING INDEX p_mrn_idx",
      "ALTER TABLE patients ALTER COLUMN medical_record_number SET DEFAULT 'x'",
      "ALTER TABLE patients RENAME COLUMN medical_record_number TO mrn",
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS p_mrn_idx ON patients (medical_record_number)",
    ]) {
      expect(byRule(await lint(sql), "console/long-lock"), sql).toEqual([]);
      expect((await lint(sql)).filter((f) => f.severity !== "info" && /lock|rewrite|scan/i.test(f.why) && f.rule !== "squawk/renaming-column"), sql).toEqual([]);
    }
  });

  it("SET NOT NULL over a validated CHECK (col IS NOT NULL) is brief; without one it scans", async () => {
    const sql = "ALTER TABLE patients ALTER COLUMN medical_record_number SET NOT NULL";
    expect(rules(await lintWith(sql))).toContain("squawk/adding-not-nullable-field");
    const covered = await lintWith(sql, { validatedNotNullChecks: new Set(["public.patients.medical_record_number"]) });
    expect(rules(covered)).toEqual([]);
    // The same, made safe within the pending set: add NOT VALID, validate, then SET NOT NULL.
    const steps = await lint(
      [
        "ALTER TABLE patients ADD CONSTRAINT mrn_nn CHECK (medical_record_number IS NOT NULL) NOT VALID",
        "ALTER TABLE patients VALIDATE CONSTRAINT mrn_nn",
        sql,
      ].join(";\n--> statement-breakpoint\n"),
    );
    expect(steps.filter((f) => f.statement === 3 && f.severity !== "info")).toEqual([]);
  });

  it("a statement a more specific rule explains gets only that rule", async () => {
    const findings = await lint("CREATE INDEX p_mrn_idx ON patients (medical_record_number)");
    expect(byRule(findings, "console/non-concurrent-index")).toHaveLength(1);
    expect(byRule(findings, "console/long-lock")).toEqual([]);
  });

  it("the rule speaks of the project's tables only", () => {
    expect(RULES["console/long-lock"]!.why).not.toMatch(/\.md|https?:/);
    for (const r of Object.values(RULES)) expect(r.why, r.id).not.toMatch(/domain\.md|https?:\/\//);
  });
});

describe("type changes", () => {
  const types = new Map([
    ["public.patients.rg", "character varying(20)"],
    ["public.patients.medical_record_number", "character varying(50)"],
    ["public.clinics.cnes_code", "numeric(7,0)"],
  ]);
  it("does not flag changes PostgreSQL makes without a rewrite", async () => {
    for (const sql of [
      "ALTER TABLE patients ALTER COLUMN medical_record_number TYPE text",
      "ALTER TABLE patients ALTER COLUMN medical_record_number TYPE varchar(80)",
      "ALTER TABLE patients ALTER COLUMN medical_record_number TYPE varchar",
      "ALTER TABLE clinics ALTER COLUMN cnes_code TYPE numeric(9,0)",
    ]) {
      const found = await lintWith(sql, { existingColumnTypes: types });
      expect(byRule(found, "console/column-type-rewrite"), sql).toEqual([]);
      expect(byRule(found, "console/long-lock"), sql).toEqual([]);
      expect(byRule(found, "squawk/changing-column-type"), sql).toEqual([]);
    }
  });

  it("flags the ones that rewrite, with the types", async () => {
    for (const sql of [
      "ALTER TABLE patients ALTER COLUMN medical_record_number TYPE varchar(10)",
      "ALTER TABLE patients ALTER COLUMN medical_record_number TYPE integer USING medical_record_number::integer",
      "ALTER TABLE clinics ALTER COLUMN cnes_code TYPE numeric(9,2)",
    ]) {
      const [hit] = byRule(await lintWith(sql, { existingColumnTypes: types }), "console/column-type-rewrite");
      expect(hit?.severity, sql).toBe("warning");
      expect(hit!.message).toMatch(/rewrites the whole table under ACCESS EXCLUSIVE/);
    }
    const [hit] = byRule(await lintWith("ALTER TABLE patients ALTER COLUMN medical_record_number TYPE varchar(10)", { existingColumnTypes: types }), "console/column-type-rewrite");
    expect(hit!.message).toContain("from character varying(50) to varchar(10)");
  });

  it("judges a column an earlier pending migration added by the type it declared", async () => {
    const add = "ALTER TABLE clinics ADD COLUMN code varchar(10);\n--> statement-breakpoint\nALTER TABLE clinics ADD COLUMN code_short varchar(10)";
    const found = await lintSet([add, "ALTER TABLE clinics ALTER COLUMN code TYPE text;\n--> statement-breakpoint\nALTER TABLE clinics ALTER COLUMN code_short TYPE varchar(5)"]);
    const rewrites = byRule(found, "console/column-type-rewrite");
    expect(rewrites.map((f) => f.message)).toEqual([expect.stringContaining("Changes public.clinics.code_short from character varying(10) to varchar(5)")]);
    // Retyped twice in the set: the second change starts from the first one's type.
    const twice = await lintSet(["ALTER TABLE patients ALTER COLUMN no_show_risk_score TYPE bigint", "ALTER TABLE patients ALTER COLUMN no_show_risk_score TYPE bigint"]);
    expect(byRule(twice, "console/column-type-rewrite").map((f) => f.tag)).toEqual(["0000_m0"]);
  });
});

describe("advice PostgreSQL accepts", () => {
  it("UNIQUE and PRIMARY KEY: build the index CONCURRENTLY, then USING INDEX; never NOT VALID", async () => {
    for (const sql of ["ALTER TABLE patients ADD CONSTRAINT p_mrn UNIQUE (medical_record_number)", "ALTER TABLE notes ADD CONSTRAINT notes_pk PRIMARY KEY (id)"]) {
      const found = await lint(sql, new Set([...TARGET_TABLES, "public.notes"]));
      expect(byRule(found, "squawk/constraint-missing-not-valid"), sql).toEqual([]);
      const advice = found.filter((f) => f.severity === "warning").map((f) => f.why);
      expect(advice.some((w) => /CONCURRENTLY/.test(w) && /USING INDEX/.test(w)), sql).toBe(true);
      expect(advice.some((w) => /NOT VALID/.test(w)), sql).toBe(false);
    }
  });

  it("CHECK and FOREIGN KEY: NOT VALID, then VALIDATE", async () => {
    const [hit] = byRule(await lint("ALTER TABLE patients ADD CONSTRAINT p_score CHECK (no_show_risk_score < 1000)"), "squawk/constraint-missing-not-valid");
    expect(hit!.why).toMatch(/NOT VALID/);
  });

  it("EXCLUDE: says there is no online form instead of advising NOT VALID", async () => {
    const [hit] = byRule(await lint("ALTER TABLE appointments ADD CONSTRAINT a_ex EXCLUDE USING gist (professional_id WITH =)"), "squawk/constraint-missing-not-valid");
    expect(hit!.why).toMatch(/neither NOT VALID nor USING INDEX/);
  });
});

describe("new columns that look like regulated data", () => {
  it("warns, naming the class, when classification.ts does not tag them; sign-off needed", async () => {
    for (const [sql, cls] of [
      ["ALTER TABLE patients ADD COLUMN mother_name text", "personal"],
      ["ALTER TABLE patients ADD COLUMN phone text", "personal"],
      ["ALTER TABLE appointments ADD COLUMN diagnosis_code text", "health"],
      ["CREATE TABLE public.contacts (id uuid PRIMARY KEY, clinic_id uuid, email text)", "personal"],
    ] as const) {
      const [hit] = byRule(await lint(sql), "console/unclassified-sensitive-column");
      expect(hit?.severity, sql).toBe("warning");
      expect(hit!.message).toContain(cls);
      expect(hit!.requiresComplianceSignoff).toBe(true);
    }
  });

  it("stays quiet for tagged columns and for names that say nothing personal", async () => {
    for (const sql of [
      "ALTER TABLE patients ADD COLUMN no_show_count integer",
      "ALTER TABLE appointments ADD COLUMN room_number text",
      "CREATE TABLE public.rooms (id uuid PRIMARY KEY, clinic_id uuid, label text)",
    ]) {
      expect(byRule(await lint(sql), "console/unclassified-sensitive-column"), sql).toEqual([]);
    }
  });
});

describe("SECURITY DEFINER", () => {
  const body = "RETURNS int LANGUAGE sql AS $$ SELECT 1 $$";
  it("is an error without SET search_path", async () => {
    const [hit] = byRule(await lint(`CREATE FUNCTION public.count_patients() ${body} SECURITY DEFINER`), "console/security-definer-without-search-path");
    expect(hit!.severity).toBe("error");
    expect(hit!.message).toContain("public.count_patients");
    expect(byRule(await lint("ALTER FUNCTION public.count_patients() SECURITY DEFINER"), "console/security-definer-without-search-path")).toHaveLength(1);
  });

  it("is quiet with a fixed search_path, or without SECURITY DEFINER", async () => {
    await expect(lint(`CREATE FUNCTION public.count_patients() ${body} SECURITY DEFINER SET search_path = pg_catalog, public`)).resolves.toSatisfy(
      (f: Finding[]) => byRule(f, "console/security-definer-without-search-path").length === 0,
    );
    expect(byRule(await lint(`CREATE FUNCTION public.count_patients() ${body}`), "console/security-definer-without-search-path")).toEqual([]);
  });

  it("ALTER FUNCTION … SECURITY DEFINER keeps the search_path the function already has, on the target or from the pending set", async () => {
    const rule = "console/security-definer-without-search-path";
    const alter = "ALTER FUNCTION set_clinic_context(uuid, uuid, text) SECURITY DEFINER";
    const onTarget = (sql: string) => lintWith(sql, { functionsWithFixedSearchPath: new Set(["public.set_clinic_context"]) });
    expect(byRule(await onTarget(alter), rule)).toEqual([]);
    expect(byRule(await onTarget(`${alter} RESET search_path`), rule)).toHaveLength(1);
    expect(byRule(await lint(alter), rule)).toHaveLength(1);
    const created = `CREATE FUNCTION public.count_patients() ${body} SET search_path = pg_catalog, public`;
    expect(byRule(await lintSet([created, "ALTER FUNCTION public.count_patients() SECURITY DEFINER"]), rule)).toEqual([]);
    // CREATE OR REPLACE sets the function's SET clauses anew: without one, the path is the caller's again.
    const replaced = `CREATE OR REPLACE FUNCTION public.count_patients() ${body}`;
    expect(byRule(await lintSet([created, replaced, "ALTER FUNCTION public.count_patients() SECURITY DEFINER"]), rule)).toHaveLength(1);
  });
});

describe("squawk runs for the target's PostgreSQL version", () => {
  it("a volatile default needs a rewrite on every version; a constant one on none since 11", async () => {
    const volatile = "ALTER TABLE patients ADD COLUMN token_x uuid DEFAULT gen_random_uuid()";
    for (const v of [15, 18]) {
      const found = await lintWith(volatile, { pgMajorVersion: v });
      expect(found.some((f) => f.rule === "squawk/adding-field-with-default" || f.rule === "console/long-lock"), `pg ${v}`).toBe(true);
    }
    const set = await lintSet(["ALTER TABLE patients ADD COLUMN active_x boolean DEFAULT true"]);
    expect(set.filter((f) => f.severity !== "info")).toEqual([]);
  });
});
