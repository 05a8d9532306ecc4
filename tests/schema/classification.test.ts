import { getTableConfig } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import {
  classesOfTable,
  classificationOf,
  DATA_CLASSIFICATION,
  isSecretColumn,
  isTaggedTable,
  taggedColumns,
  RETIRED_CLASSIFICATION,
} from "../../db/schema/classification";
import { TARGET_TABLES } from "../../db/schema/expectations";

const columnsByTable = new Map(
  TARGET_TABLES.map((t) => {
    const c = getTableConfig(t);
    return [`${c.schema ?? "public"}.${c.name}`, new Set(c.columns.map((col) => col.name))];
  }),
);

describe("classification map", () => {
  it("names only tables and columns that exist in db/schema", () => {
    for (const [table, columns] of Object.entries(DATA_CLASSIFICATION)) {
      expect(columnsByTable.has(table), table).toBe(true);
      for (const column of Object.keys(columns)) {
        expect(columnsByTable.get(table)!.has(column), `${table}.${column} is not in db/schema: move its tag to RETIRED_CLASSIFICATION`).toBe(true);
      }
    }
  });

  it("keeps retired tags only for columns that really left db/schema", () => {
    for (const [table, columns] of Object.entries(RETIRED_CLASSIFICATION as Record<string, Record<string, string>>)) {
      for (const column of Object.keys(columns)) expect(columnsByTable.get(table)?.has(column) ?? false, `${table}.${column} is still in db/schema`).toBe(false);
    }
  });

  it("tags the columns domain.md tags", () => {
    expect(classificationOf("public", "patients", "cpf")).toBe("identifier");
    expect(classificationOf("public", "patients", "cns")).toBe("identifier");
    expect(classificationOf("public", "patients", "rg")).toBe("identifier");
    expect(classificationOf("public", "patients", "full_name")).toBe("personal");
    expect(classificationOf("public", "patients", "birth_date")).toBe("personal");
    for (const c of ["accessibility_needs", "allergies", "chronic_conditions", "patient_notes"])
      expect(classificationOf("public", "patients", c)).toBe("health");
    expect(classificationOf("public", "appointments", "chief_complaint")).toBe("health");
    expect(classificationOf("public", "appointments", "clinical_notes")).toBe("health");
    expect(classificationOf("public", "professionals", "email")).toBe("personal");
    expect(classificationOf("lgpd", "lgpd_consents", "ip_address")).toBe("personal");
    expect(classificationOf("lgpd", "lgpd_consents", "geolocation")).toBe("personal");
    expect(classificationOf("audit", "audit_logs", "ip_address")).toBe("personal");
    expect(isSecretColumn("public", "telemedicine_sessions", "session_encryption_key")).toBe(true);
  });

  it("answers null for untagged columns and tables, and reads a missing schema as public", () => {
    expect(classificationOf("public", "patients", "id")).toBeNull();
    expect(classificationOf("public", "patients", "toString")).toBeNull();
    expect(classificationOf("public", "clinics", "name")).toBeNull();
    expect(classificationOf(null, "patients", "cpf")).toBe("identifier");
    expect(classificationOf("lgpd", "patients", "cpf")).toBeNull();
    expect(isTaggedTable("public", "patients")).toBe(true);
    expect(isTaggedTable("public", "clinics")).toBe(false);
    expect(isTaggedTable("audit", "audit_logs")).toBe(true);
  });

  it("lists tagged columns sorted and filtered by class", () => {
    const all = taggedColumns();
    const keys = all.map((c) => `${c.schema}.${c.table}.${c.column}`);
    expect(keys).toEqual([...keys].sort());
    expect(all).toContainEqual({ schema: "public", table: "patients", column: "allergies", dataClass: "health" });
    const health = taggedColumns({ classes: ["health"] });
    expect(health.every((c) => c.dataClass === "health")).toBe(true);
    expect(health.map((c) => c.table)).toContain("appointments");
    expect(classesOfTable("public", "patients")).toEqual(["identifier", "personal", "health"]);
    expect(classesOfTable("public", "clinics")).toEqual([]);
  });
});
