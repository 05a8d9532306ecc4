/** Each console rule fires on a minimal bad statement and stays silent on the safe alternative. */
import { describe, expect, it } from "vitest";
import { RULES } from "@/lib/lint";
import { byRule, lint, lintSet, TARGET_TABLES, TENANT } from "./helpers";

async function fires(rule: string, sql: string, existing?: ReadonlySet<string>) {
  const hits = byRule(await lint(sql, existing), rule);
  expect(hits, `${rule} should fire on: ${sql}`).not.toHaveLength(0);
  for (const h of hits) expect(h.severity).toBe(RULES[rule]!.severity);
  return hits;
}

async function silent(rule: string, sql: string, existing?: ReadonlySet<string>) {
  expect(byRule(await lint(sql, existing), rule), `${rule} should not fire on: ${sql}`).toEqual([]);
}

describe("tagged columns", () => {
  it("drop-tagged-column: dropping patients.cpf is an error; dropping an untagged column is not this rule", async () => {
    const [hit] = await fires("console/drop-tagged-column", 'ALTER TABLE "patients" DROP COLUMN "cpf";');
    expect(hit!.severity).toBe("error");
    expect(hit!.message).toContain("public.patients.cpf");
    expect(hit!.touches.classes).toEqual(["identifier"]);
    await fires("console/drop-tagged-column", "ALTER TABLE telemedicine_sessions DROP COLUMN session_encryption_key");
    await fires("console/drop-tagged-column", "ALTER TABLE appointments DROP COLUMN clinical_notes");
    await silent("console/drop-tagged-column", "ALTER TABLE patients DROP COLUMN medical_record_number");
  });

  it("drop-tagged-table: dropping a table with tagged columns is an error; an untagged one is not", async () => {
    const [hit] = await fires("console/drop-tagged-table", "DROP TABLE IF EXISTS audit.audit_logs");
    expect(hit!.touches.classes).toEqual(["personal"]);
    await silent("console/drop-tagged-table", "DROP TABLE clinics");
  });

  it("rename-tagged-column: renaming from or to a tagged name warns; an untagged rename does not", async () => {
    await fires("console/rename-tagged-column", "ALTER TABLE patients RENAME COLUMN cpf TO cpf_number");
    await fires("console/rename-tagged-column", "ALTER TABLE patients RENAME COLUMN old_notes TO patient_notes");
    await silent("console/rename-tagged-column", "ALTER TABLE patients RENAME COLUMN medical_record_number TO record_number");
  });

  it("retype-tagged-column: changing a tagged column's type warns; an untagged one does not", async () => {
    const [hit] = await fires("console/retype-tagged-column", "ALTER TABLE patients ALTER COLUMN birth_date TYPE text");
    expect(hit!.message).toContain("text");
    await silent("console/retype-tagged-column", "ALTER TABLE patients ALTER COLUMN medical_record_number TYPE varchar(40)");
  });
});

describe("destroying rows of tagged tables", () => {
  it("truncate-tagged-table fires on a tagged table only", async () => {
    await fires("console/truncate-tagged-table", "TRUNCATE patients, clinics");
    await silent("console/truncate-tagged-table", "TRUNCATE clinics");
  });

  it("delete-tagged-without-where fires without WHERE, with an always-true WHERE and inside a CTE; DELETE with WHERE is fine", async () => {
    await fires("console/delete-tagged-without-where", "DELETE FROM patients");
    await fires("console/delete-tagged-without-where", "DELETE FROM patients WHERE true");
    await fires("console/delete-tagged-without-where", "WITH gone AS (DELETE FROM lgpd.lgpd_consents RETURNING id) SELECT count(*) FROM gone");
    await silent("console/delete-tagged-without-where", "DELETE FROM patients WHERE data_anonymized_at < now() - interval '20 years'");
    await silent("console/delete-tagged-without-where", "DELETE FROM clinics");
  });

  it("update-tagged-column-without-where is an error; setting only untagged columns of a tagged table is a warning", async () => {
    await fires("console/update-tagged-column-without-where", "UPDATE patients SET cpf = NULL");
    await silent("console/update-tagged-column-without-where", "UPDATE patients SET cpf = NULL WHERE id = '00000000-0000-0000-0000-000000000000'");
    await silent("console/unbounded-update-on-tagged-table", "UPDATE patients SET cpf = NULL"); // not twice

    const [warn] = await fires("console/unbounded-update-on-tagged-table", "UPDATE patients SET is_active = true");
    expect(warn!.requiresComplianceSignoff).toBe(true);
    await silent("console/unbounded-update-on-tagged-table", "UPDATE patients SET is_active = true WHERE clinic_id IS NULL");
    await silent("console/unbounded-update-on-tagged-table", "UPDATE clinics SET is_active = true");
  });
});

describe("row level security", () => {
  it("disable-rls and no-force-rls are errors; ENABLE and FORCE are not", async () => {
    await fires("console/disable-rls", "ALTER TABLE clinics DISABLE ROW LEVEL SECURITY");
    await fires("console/no-force-rls", "ALTER TABLE audit.audit_logs NO FORCE ROW LEVEL SECURITY");
    const safe = await lint("ALTER TABLE clinics ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY");
    expect(safe.filter((f) => f.severity !== "info")).toEqual([]);
  });

  it("new-table-without-rls: a new table in public, lgpd or audit needs ENABLE and FORCE in the same migration", async () => {
    const create = "CREATE TABLE lgpd.data_requests (id uuid PRIMARY KEY, clinic_id uuid NOT NULL);";
    const [hit] = await fires("console/new-table-without-rls", create);
    expect(hit!.touches.rls).toBe(true);
    expect(hit!.requiresComplianceSignoff).toBe(true);
    await fires("console/new-table-without-rls", `${create}\nALTER TABLE lgpd.data_requests ENABLE ROW LEVEL SECURITY;`);
    await silent(
      "console/new-table-without-rls",
      `${create}\nALTER TABLE lgpd.data_requests ENABLE ROW LEVEL SECURITY;\nALTER TABLE lgpd.data_requests FORCE ROW LEVEL SECURITY;`,
    );
    await silent("console/new-table-without-rls", "CREATE TEMP TABLE scratch (id int)");
    await silent("console/new-table-without-rls", "CREATE TABLE reporting.daily (id int)");
    // CREATE TABLE IF NOT EXISTS on a table the target already has creates nothing.
    await silent("console/new-table-without-rls", "CREATE TABLE IF NOT EXISTS clinics (id uuid)");
  });

  it("rls-enabled-later: securing a new table only in a later pending migration is a warning, not an error", async () => {
    const findings = await lintSet(
      ["CREATE TABLE public.notes (id uuid PRIMARY KEY, clinic_id uuid NOT NULL);", "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nALTER TABLE notes FORCE ROW LEVEL SECURITY;"],
      TARGET_TABLES,
    );
    expect(byRule(findings, "console/new-table-without-rls")).toEqual([]);
    const [later] = byRule(findings, "console/rls-enabled-later");
    expect(later).toMatchObject({ tag: "0000_m0", severity: "warning" });
    expect(later!.message).toContain("0001_m1");
  });

  it("role-bypassrls and role-superuser fire on CREATE and ALTER ROLE; NOBYPASSRLS NOSUPERUSER does not", async () => {
    await fires("console/role-bypassrls", "CREATE ROLE reporting LOGIN BYPASSRLS");
    await fires("console/role-bypassrls", "ALTER ROLE app_user WITH BYPASSRLS");
    await fires("console/role-superuser", "ALTER USER ops SUPERUSER");
    const safe = await lint("CREATE ROLE reporting NOLOGIN NOSUPERUSER NOBYPASSRLS");
    expect(byRule(safe, "console/role-bypassrls")).toEqual([]);
    expect(byRule(safe, "console/role-superuser")).toEqual([]);
    expect(safe.some((f) => f.requiresComplianceSignoff)).toBe(false);
  });
});

describe("policies", () => {
  it("drop-policy warns and says whether the migration re-creates it", async () => {
    const [alone] = await fires("console/drop-policy", "DROP POLICY patients_tenant_select ON patients");
    expect(alone!.message).toContain("does not create it again");
    expect(alone!.touches.policies).toBe(true);
    const [replaced] = await fires(
      "console/drop-policy",
      `DROP POLICY patients_tenant_select ON patients;\nCREATE POLICY patients_tenant_select ON patients FOR SELECT TO app_user USING (${TENANT()});`,
    );
    expect(replaced!.message).toContain("creates it again");
  });

  it("policy-always-true fires on permissive CREATE and on any ALTER; a new restrictive one only narrows", async () => {
    await fires("console/policy-always-true", "CREATE POLICY open ON patients FOR SELECT TO app_user USING (true)");
    await fires("console/policy-always-true", "CREATE POLICY open ON patients FOR INSERT TO app_user WITH CHECK ('t'::boolean)");
    await fires("console/policy-always-true", "ALTER POLICY patients_tenant_select ON patients USING (1 = 1)");
    await fires("console/policy-always-true", `ALTER POLICY patients_tenant_select ON patients USING (${TENANT()} OR true)`);
    await silent("console/policy-always-true", "CREATE POLICY noop ON patients AS RESTRICTIVE FOR SELECT TO app_user USING (true)");
    await silent("console/policy-always-true", `CREATE POLICY p ON patients FOR SELECT TO app_user USING (${TENANT()})`);
  });

  it("policy-missing-tenant-predicate: the clinic predicate must be a top-level AND term of every clause", async () => {
    await fires("console/policy-missing-tenant-predicate", "CREATE POLICY p ON patients FOR SELECT TO app_user USING (is_active)");
    await fires("console/policy-missing-tenant-predicate", `CREATE POLICY p ON patients FOR SELECT TO app_user USING (${TENANT()} OR is_active)`);
    await fires("console/policy-missing-tenant-predicate", "CREATE POLICY p ON patients FOR SELECT TO app_user USING (clinic_id = current_setting('app.current_user_id', true)::uuid)");
    await fires("console/policy-missing-tenant-predicate", `CREATE POLICY p ON patients FOR UPDATE TO app_user USING (${TENANT()}) WITH CHECK (is_active)`);
    await fires("console/policy-missing-tenant-predicate", "ALTER POLICY patients_tenant_select ON patients USING (patient_id IS NOT NULL)");
    // The tenant root compares its own id.
    await fires("console/policy-missing-tenant-predicate", `CREATE POLICY p ON clinics FOR SELECT TO app_user USING (${TENANT("clinic_id")})`);
    await silent("console/policy-missing-tenant-predicate", `CREATE POLICY p ON clinics FOR SELECT TO app_user USING (${TENANT("id")})`);
    await silent("console/policy-missing-tenant-predicate", `CREATE POLICY p ON patients FOR SELECT TO app_user USING (${TENANT()} AND is_active)`);
    await silent("console/policy-missing-tenant-predicate", "CREATE POLICY p ON patients AS RESTRICTIVE FOR SELECT TO app_user USING (is_active)");
    // A table created in the pending SQL is a tenant table when it has clinic_id.
    await fires("console/policy-missing-tenant-predicate", "CREATE TABLE notes (id uuid, clinic_id uuid);\nCREATE POLICY p ON notes FOR SELECT TO app_user USING (true AND id IS NOT NULL)");
    await silent("console/policy-missing-tenant-predicate", "CREATE TABLE lookup (id uuid);\nCREATE POLICY p ON lookup FOR SELECT TO app_user USING (id IS NOT NULL)");
  });

  it("policy-without-with-check warns on permissive INSERT and UPDATE policies of tenant tables", async () => {
    const [insert] = await fires("console/policy-without-with-check", "CREATE POLICY p ON patients FOR INSERT TO app_user");
    expect(insert!.message).toContain("refuses every insert");
    await fires("console/policy-without-with-check", `CREATE POLICY p ON patients FOR UPDATE TO app_user USING (${TENANT()})`);
    await silent("console/policy-without-with-check", `CREATE POLICY p ON patients FOR UPDATE TO app_user USING (${TENANT()}) WITH CHECK (${TENANT()})`);
    await silent("console/policy-without-with-check", `CREATE POLICY p ON patients FOR SELECT TO app_user USING (${TENANT()})`);
  });

  it("append-only-write-policy: UPDATE, DELETE or ALL policies on the audit and consent-record tables are errors", async () => {
    await fires("console/append-only-write-policy", `CREATE POLICY fix ON audit.audit_logs FOR UPDATE TO app_user USING (${TENANT()}) WITH CHECK (${TENANT()})`);
    await fires("console/append-only-write-policy", `CREATE POLICY all_rows ON consent_records TO app_user USING (${TENANT()})`);
    await silent("console/append-only-write-policy", `CREATE POLICY add ON audit.audit_logs FOR INSERT TO app_user WITH CHECK (${TENANT()})`);
  });
});

describe("privileges, indexes, opaque code", () => {
  it("grant-to-public fires on object grants, default privileges and role membership; named grantees and REVOKE are fine", async () => {
    const [hit] = await fires("console/grant-to-public", "GRANT SELECT ON patients TO PUBLIC");
    expect(hit!.touches.classes).toEqual(["identifier", "personal", "health"]);
    await fires("console/grant-to-public", "ALTER DEFAULT PRIVILEGES IN SCHEMA lgpd GRANT SELECT ON TABLES TO PUBLIC");
    await fires("console/grant-to-public", "GRANT app_user TO PUBLIC");
    await fires("console/grant-to-public", "GRANT USAGE ON SCHEMA audit TO public");
    const [fn] = await fires("console/grant-to-public", "GRANT EXECUTE ON FUNCTION public.set_clinic_context(uuid, uuid, text) TO PUBLIC");
    expect(fn!.message).toContain("function public.set_clinic_context");
    await silent("console/grant-to-public", "GRANT SELECT ON patients TO app_user");
    await silent("console/grant-to-public", "REVOKE ALL ON patients FROM PUBLIC");
  });

  it("non-concurrent-index: a plain CREATE INDEX on an existing table warns; CONCURRENTLY or a new table is fine", async () => {
    await fires("console/non-concurrent-index", "CREATE INDEX patients_name_idx ON patients (full_name)");
    // Unknown to the context: assumed to exist (the statement could not run otherwise).
    await fires("console/non-concurrent-index", "CREATE INDEX x_idx ON somewhere.unknown (a)", new Set());
    await silent("console/non-concurrent-index", "CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_name_idx ON patients (full_name)");
    await silent("console/non-concurrent-index", "CREATE TABLE notes (id uuid, clinic_id uuid);\nCREATE INDEX notes_clinic_idx ON notes (clinic_id);");
    // Created earlier in the same pending set: still new.
    const set = await lintSet(["CREATE TABLE notes (id uuid, clinic_id uuid);", "CREATE INDEX notes_clinic_idx ON notes (clinic_id);"]);
    expect(byRule(set, "console/non-concurrent-index")).toEqual([]);
    // Squawk's own index rule is superseded: it does not know what the target has.
    expect(set.filter((f) => f.rule === "squawk/require-concurrent-index-creation")).toEqual([]);
  });

  it("opaque-do-block is an info finding", async () => {
    const [hit] = await fires("console/opaque-do-block", "DO $$ BEGIN PERFORM 1; END $$");
    expect(hit!.severity).toBe("info");
  });
});
