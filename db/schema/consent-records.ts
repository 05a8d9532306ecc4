import { jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { clinicIdColumn } from "./clinics";
import { createdAt, id } from "./columns";
import { consentStatus, legalBasis } from "./enums";
import { patientIdColumn } from "./patients";
import { appendOnlyPolicies } from "./rls";

/** Append-only history of consent events (given, withdrawn, ...): a change is a new row, never an update. */
export const consentRecords = pgTable(
  "consent_records",
  {
    id: id(),
    patientId: patientIdColumn(),
    clinicId: clinicIdColumn(),
    consentType: text("consent_type").notNull(),
    purpose: text("purpose").notNull(),
    legalBasis: legalBasis("legal_basis").notNull(),
    status: consentStatus("status").notNull(),
    givenAt: timestamp("given_at", { withTimezone: true }),
    withdrawnAt: timestamp("withdrawn_at", { withTimezone: true }),
    evidence: jsonb("evidence"),
    createdAt: createdAt(),
  },
  (t) => [...appendOnlyPolicies("consent_records", t.clinicId)],
);

export type ConsentRecord = typeof consentRecords.$inferSelect;
export type NewConsentRecord = typeof consentRecords.$inferInsert;
