/** The registry the dashboards and the compliance page read: stable ids, every group and control covered. */
import { describe, expect, it } from "vitest";
import { CHECK_CONTROLS, CHECKS, checksByControl, CONTROL_CHECKS, CONTROLS, GROUPS, isolationProbeScript, verifyExpectations } from "../../lib/verify";
import { classifyPredicate, ensureParser } from "../../lib/verify/predicate";
import { schemaExpectations } from "../../db/schema/expectations";

describe("the check registry", () => {
  it("has unique ids, each in one of domain.md's groups, with a fix and at least one control", () => {
    expect(new Set(CHECKS.map((c) => c.id)).size).toBe(CHECKS.length);
    const groups = new Set(GROUPS.map((g) => g.id));
    for (const c of CHECKS) {
      expect(groups.has(c.group), c.id).toBe(true);
      expect(c.fix.length, c.id).toBeGreaterThan(20);
      expect(c.controls.length, c.id).toBeGreaterThan(0);
    }
    expect(new Set(CHECKS.map((c) => c.group))).toEqual(groups);
    expect(new Set(GROUPS.map((g) => g.domainItem))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  it("maps controls in one table that names only known checks and controls", () => {
    expect(Object.keys(CHECK_CONTROLS).sort()).toEqual(CHECKS.map((c) => c.id).sort());
    for (const ids of Object.values(CHECK_CONTROLS)) for (const id of ids) expect(CONTROLS).toHaveProperty(id);
  });

  it("answers requirement → checks for LGPD Art. 7, 11, 18, 37, 46, CFM 2314/2022, ANVISA and NGS2", () => {
    for (const key of ["LGPD Art. 7", "LGPD Art. 11", "LGPD Art. 18", "LGPD Art. 37", "LGPD Art. 46", "CFM Resolução 2314/2022", "ANVISA record keeping"]) {
      expect(CONTROL_CHECKS[key]?.length, key).toBeGreaterThan(0);
    }
    expect(checksByControl().filter((c) => c.framework === "NGS2").every((c) => c.checks.length > 0)).toBe(true);
    expect(CONTROL_CHECKS["LGPD Art. 46"]).toContain("isolation.behavioural");
    expect(CONTROL_CHECKS["CFM Resolução 2314/2022"]).toContain("telemedicine.active-sessions");
    expect(CONTROL_CHECKS["LGPD Art. 7"]).toContain("consent.hashes");
  });
});

describe("expectations come from db/schema", () => {
  it("covers every table, declared index and unique constraint of the drizzle schema", () => {
    const e = verifyExpectations();
    expect(e.tables.map((t) => t.qualifiedName)).toEqual(schemaExpectations.tables.map((t) => t.qualifiedName));
    expect(e.tables.flatMap((t) => t.indexDetails.map((i) => i.name))).toEqual(schemaExpectations.tables.flatMap((t) => t.indexes));
    const unique = e.tables.flatMap((t) => t.uniqueDetails.map((u) => `${t.name}(${u.columns.join(",")})`));
    for (const u of ["patients(cpf)", "patients(cns)", "lgpd_consents(consent_hash)", "telemedicine_sessions(session_token)"]) expect(unique).toContain(u);
  });

  it("builds an isolation probe that runs as app_user and ends in ROLLBACK", () => {
    const { script } = isolationProbeScript(verifyExpectations());
    expect(script).toMatch(/^BEGIN;\nSET LOCAL ROLE "app_user";/);
    expect(script.trimEnd()).toMatch(/ROLLBACK;$/);
    expect(script).not.toMatch(/session_encryption_key/);
  });
});

describe("tenant predicates are compared as parse trees", () => {
  const ctx = schemaExpectations.currentClinicIdSql;
  it("accepts the predicate as PostgreSQL prints it, and nothing else", async () => {
    await ensureParser();
    const printed = `(clinic_id = (NULLIF(current_setting('app.current_clinic_id'::text, true), ''::text))::uuid)`;
    expect(classifyPredicate(printed, "clinic_id", ctx)).toBe("tenant");
    expect(classifyPredicate(printed, "id", ctx)).toBe("other");
    expect(classifyPredicate("true", "clinic_id", ctx)).toBe("other");
    expect(classifyPredicate("false", "clinic_id", ctx)).toBe("deny");
    expect(classifyPredicate(`(${printed} OR true)`, "clinic_id", ctx)).toBe("other");
    expect(classifyPredicate(printed.replace("app.current_clinic_id", "app.current_user_id"), "clinic_id", ctx)).toBe("other");
    expect(classifyPredicate(`(clinic_id = (NULLIF(pg_catalog.current_setting('app.current_clinic_id'::text, true), ''::text))::uuid)`, "clinic_id", ctx)).toBe("tenant");
  });
});
