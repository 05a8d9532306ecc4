import { describe, expect, it } from "vitest";
import { APPEND_ONLY_TABLES, describeTables, schemaExpectations } from "../../db/schema/expectations";

const tables = schemaExpectations.tables;
const byName = new Map(tables.map((t) => [t.qualifiedName, t]));

describe("schema expectations derived from the drizzle tables", () => {
  it("covers the eight tables of domain.md", () => {
    expect(tables.map((t) => t.qualifiedName).sort()).toEqual([
      "audit.audit_logs",
      "lgpd.lgpd_consents",
      "public.appointments",
      "public.clinics",
      "public.consent_records",
      "public.patients",
      "public.professionals",
      "public.telemedicine_sessions",
    ]);
  });

  it("derives tenant keys: clinic_id everywhere, id for clinics (what clinic_id references)", () => {
    expect(byName.get("public.clinics")!.tenantKey).toBe("id");
    for (const t of tables.filter((t) => t.name !== "clinics")) expect(t.tenantKey, t.qualifiedName).toBe("clinic_id");
  });

  it("gives tenant tables four policies and append-only tables SELECT and INSERT only", () => {
    for (const t of tables) {
      const commands = t.policies.map((p) => p.command).sort();
      if ((APPEND_ONLY_TABLES as readonly string[]).includes(t.qualifiedName)) {
        expect(t.appendOnly).toBe(true);
        expect(commands, t.qualifiedName).toEqual(["INSERT", "SELECT"]);
      } else {
        expect(t.appendOnly).toBe(false);
        expect(commands, t.qualifiedName).toEqual(["DELETE", "INSERT", "SELECT", "UPDATE"]);
      }
      for (const p of t.policies) {
        expect(p.roles).toEqual([schemaExpectations.appRole]);
        expect(p.hasWithCheck).toBe(p.command === "INSERT" || p.command === "UPDATE");
        expect(p.hasUsing).toBe(p.command !== "INSERT");
      }
    }
  });

  it("knows the unique constraints verification relies on", () => {
    expect(byName.get("public.patients")!.uniqueConstraints).toEqual(
      expect.arrayContaining(["patients_cpf_unique", "patients_cns_unique"]),
    );
    expect(byName.get("lgpd.lgpd_consents")!.uniqueConstraints).toContain("lgpd_consents_consent_hash_unique");
    expect(byName.get("public.telemedicine_sessions")!.uniqueConstraints).toContain(
      "telemedicine_sessions_session_token_unique",
    );
  });

  it("prints enum types schema-qualified and arrays with []", () => {
    const consents = byName.get("lgpd.lgpd_consents")!;
    expect(consents.columns.find((c) => c.name === "legal_basis")!.type).toBe("lgpd.legal_basis");
    expect(consents.columns.find((c) => c.name === "data_categories")!.type).toBe("text[]");
    expect(byName.get("public.appointments")!.columns.find((c) => c.name === "status")!.type).toBe(
      "public.appointment_status",
    );
  });

  it("is stable: deriving twice gives the same result", () => {
    expect(describeTables()).toEqual(tables);
  });
});
