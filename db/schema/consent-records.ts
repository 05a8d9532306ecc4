import { jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { clinics } from "./clinics";
import { createdAt, id } from "./columns";
import { consentStatus, legalBasis } from "./enums";
import { patients } from "./patients";
import { appendOnlyPolicies } from "./rls";

/** Append-only history of consent events (given, withdrawn, ...): a change is a new row, never an update. */
export const consentRecords = pgTable(
  "consent_records",
  {
    id: id(),
    patientId: uuid("patient_id")
      .notNull()
      .references(() => patients.id),
    clinicId: uuid("clinic_id")
      .notNull()
      .references(() => clinics.id),
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
