/** What the gates read (compliance sign-off), and the project's own migrations under the lint. */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "@/lib/migrations";
import { lintMigrations } from "@/lib/lint";
import { lint, TARGET_TABLES } from "./helpers";

describe("requiresComplianceSignoff", () => {
  it("is true for a migration that drops patients.cpf", async () => {
    const findings = await lint('ALTER TABLE "patients" DROP COLUMN "cpf";');
    expect(findings.some((f) => f.requiresComplianceSignoff)).toBe(true);
    const drop = findings.find((f) => f.rule === "console/drop-tagged-column")!;
    expect(drop).toMatchObject({
      severity: "error",
      source: "console",
      requiresComplianceSignoff: true,
      touches: { taggedData: true, classes: ["identifier"], rls: false, policies: false },
      tag: "sql",
      statement: 1,
      line: 1,
      column: 1,
      id: "sql:1:console/drop-tagged-column",
    });
    // Squawk's finding on the same statement carries the statement's touches too.
    expect(findings.find((f) => f.rule === "squawk/ban-drop-column")?.requiresComplianceSignoff).toBe(true);
  });

  it("is true for an UPDATE that copies tagged data into an untagged column, by name, alias or subquery", async () => {
    const WHERE = "WHERE id = '00000000-0000-0000-0000-000000000000'";
    for (const [sql, cls] of [
      [`UPDATE patients SET medical_record_number = cpf ${WHERE};`, "identifier"],
      [`UPDATE patients p SET medical_record_number = upper(p.full_name) ${WHERE};`, "personal"],
      [`UPDATE appointments a SET status = (SELECT x.patient_notes FROM patients x WHERE x.id = a.patient_id) ${WHERE};`, "health"],
    ] as const) {
      const findings = await lint(sql);
      expect(findings.filter((f) => f.requiresComplianceSignoff).flatMap((f) => f.touches.classes), sql).toContain(cls);
    }
    const untagged = await lint(`UPDATE patients SET medical_record_number = 'MRN-' || id::text ${WHERE};`);
    expect(untagged.map((f) => f.requiresComplianceSignoff)).not.toContain(true);
  });

  it("is false for adding a nullable column that is not tagged, and nothing above info is reported", async () => {
    const findings = await lint('ALTER TABLE "patients" ADD COLUMN "preferred_language" text;');
    expect(findings.map((f) => f.requiresComplianceSignoff)).not.toContain(true);
    expect(findings.filter((f) => f.severity !== "info")).toEqual([]);
  });

  it("reaches the gates for safe changes too: a statement touching tagged data or policies always yields a finding", async () => {
    const cns = await lint("UPDATE patients SET cns = NULL WHERE id = '00000000-0000-0000-0000-000000000000';");
    expect(cns.map((f) => [f.rule, f.severity, f.requiresComplianceSignoff])).toContainEqual(["console/tagged-data-change", "info", true]);

    const policy = await lint(
      "CREATE POLICY patients_tenant_select ON patients FOR SELECT TO app_user USING (clinic_id = NULLIF(current_setting('app.current_clinic_id', true), '')::uuid);",
    );
    expect(policy.filter((f) => f.severity !== "info")).toEqual([]);
    expect(policy.filter((f) => f.requiresComplianceSignoff && f.touches.policies)).not.toEqual([]);

    const grant = await lint("ALTER TABLE patients ENABLE ROW LEVEL SECURITY;\n--> statement-breakpoint\nGRANT SELECT ON lgpd.lgpd_consents TO app_user;");
    expect(grant.filter((f) => f.statement === 2).map((f) => [f.rule, f.touches.classes])).toEqual([["console/tagged-data-change", ["personal"]]]);
  });
});

describe("db/migrations", () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog(path.resolve(__dirname, "../../db/migrations"));
  });

  it("produce no console-rule errors when linted in order from an empty database", async () => {
    const findings = await lintMigrations(catalog.migrations, { existingTables: new Set() });
    expect(findings.filter((f) => f.source === "console" && f.severity === "error").map((f) => `${f.id}: ${f.message}`)).toEqual([]);
    // Tables of 0001/0003/0005 get RLS only in 0007: a warning while they ship together.
    const later = findings.filter((f) => f.rule === "console/rls-enabled-later");
    expect(later.map((f) => f.message.split(" ")[1]).sort()).toEqual([...TARGET_TABLES].sort());
    expect(later.every((f) => f.message.includes("0007_row_level_security"))).toBe(true);
    // Squawk's errors would block as well.
    expect(findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  it("flags the tables of 0001 as errors when 0001 would ship without 0007", async () => {
    const findings = await lintMigrations([catalog.byTag("0001_core_tables")!], { existingTables: new Set() });
    expect(findings.filter((f) => f.rule === "console/new-table-without-rls")).toHaveLength(4);
  });

  it("lint 0007_row_level_security quickly, with nothing above info on a target that has the tables", async () => {
    const m = catalog.byTag("0007_row_level_security")!;
    await lintMigrations([m], { existingTables: TARGET_TABLES }); // warm: parser, squawk binary in the page cache
    const started = performance.now();
    const findings = await lintMigrations([m], { existingTables: TARGET_TABLES });
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(750);
    expect(findings.filter((f) => f.severity !== "info").map((f) => f.id)).toEqual([]);
    expect(findings.some((f) => f.requiresComplianceSignoff)).toBe(true);
  });
});
