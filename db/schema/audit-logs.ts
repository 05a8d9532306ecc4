import { sql } from "drizzle-orm";
import { check, index, inet, jsonb, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { clinicIdColumn } from "./clinics";
import { id } from "./columns";
import { auditAction, riskLevel } from "./enums";
import { auditSchema } from "./schemas";
import { appendOnlyPolicies } from "./rls";

/**
 * Append-only audit trail. patient_id and resource_id deliberately have no foreign key: an audit row must
 * outlive (and not block) the anonymisation or deletion of what it describes.
 */
export const auditLogs = auditSchema.table(
  "audit_logs",
  {
    id: id(),
    clinicId: clinicIdColumn(),
    userId: uuid("user_id"),
    patientId: uuid("patient_id"),
    action: auditAction("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    status: text("status").notNull().default("success"),
    riskLevel: riskLevel("risk_level").notNull().default("LOW"),
    ipAddress: inet("ip_address"),
    details: jsonb("details"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    // now() is the transaction start, the same instant created_at defaults to.
    retentionUntil: timestamp("retention_until", { withTimezone: true })
      .notNull()
      .default(sql`(now() + interval '7 years')`),
  },
  (t) => [
    // ANVISA/CFM record keeping: audit rows are kept at least seven years.
    check("audit_logs_retention_7_years", sql`${t.retentionUntil} >= ${t.createdAt} + interval '7 years'`),
    ...appendOnlyPolicies("audit_logs", t.clinicId),
    // Performance indexes: built CONCURRENTLY by migration 0008.
    index("audit_logs_clinic_created_idx").on(t.clinicId, t.createdAt),
    index("audit_logs_patient_created_idx").on(t.patientId, t.createdAt),
    index("audit_logs_retention_idx").on(t.retentionUntil),
  ],
);

export type AuditLog = typeof auditLogs.$inferSelect;
export type NewAuditLog = typeof auditLogs.$inferInsert;
