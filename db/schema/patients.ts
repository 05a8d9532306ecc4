import { sql } from "drizzle-orm";
import { boolean, check, date, index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { clinicIdColumn } from "./clinics";
import { createdAt, id, updatedAt } from "./columns";
import { dataConsentStatus } from "./enums";
import { tenantPolicies } from "./rls";

export const patients = pgTable(
  "patients",
  {
    id: id(),
    clinicId: clinicIdColumn(),
    medicalRecordNumber: text("medical_record_number"),
    fullName: text("full_name").notNull(),
    birthDate: date("birth_date"),
    /** Digits only; check digits are validated by the application (lib/br/identifiers). */
    cpf: text("cpf").unique("patients_cpf_unique"),
    /** Cartão Nacional de Saúde (SUS card), digits only. */
    cns: text("cns").unique("patients_cns_unique"),
    rg: text("rg"),
    rgIssuingOrgan: text("rg_issuing_organ"),
    sensitiveDataConsent: jsonb("sensitive_data_consent"),
    dataConsentStatus: dataConsentStatus("data_consent_status").notNull().default("pending"),
    dataRetentionUntil: date("data_retention_until"),
    dataAnonymizationScheduled: timestamp("data_anonymization_scheduled", { withTimezone: true }),
    dataAnonymizedAt: timestamp("data_anonymized_at", { withTimezone: true }),
    rightToForgetRequested: boolean("right_to_forget_requested").notNull().default(false),
    dataPortabilityRequested: boolean("data_portability_requested").notNull().default(false),
    noShowRiskScore: integer("no_show_risk_score"),
    noShowPredictionFeatures: jsonb("no_show_prediction_features"),
    accessibilityNeeds: text("accessibility_needs").array(),
    allergies: text("allergies").array(),
    chronicConditions: text("chronic_conditions").array(),
    patientNotes: text("patient_notes"),
    isActive: boolean("is_active").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("patients_clinic_record_unique").on(t.clinicId, t.medicalRecordNumber),
    check("patients_cpf_format", sql`${t.cpf} ~ '^[0-9]{11}$'`),
    check("patients_cns_format", sql`${t.cns} ~ '^[0-9]{15}$'`),
    check("patients_no_show_risk_range", sql`${t.noShowRiskScore} BETWEEN 0 AND 100`),
    ...tenantPolicies("patients", t.clinicId),
    // Performance indexes: built CONCURRENTLY by migration 0008 (see the note there).
    index("patients_cpf_hash_idx").using("hash", t.cpf),
    index("patients_cns_hash_idx").using("hash", t.cns),
    index("patients_clinic_active_idx").on(t.clinicId, t.isActive),
    index("patients_anonymization_due_idx").on(t.dataAnonymizationScheduled).where(sql`${t.dataAnonymizedAt} IS NULL`),
    index("patients_no_show_risk_idx").on(t.noShowRiskScore.desc()),
    index("patients_full_name_fts_idx").using("gin", sql`to_tsvector('portuguese', ${t.fullName})`),
  ],
);

/** A row about one patient (appointments, consents, sessions). */
export const patientIdColumn = () =>
  uuid("patient_id")
    .notNull()
    .references(() => patients.id);

export type Patient = typeof patients.$inferSelect;
export type NewPatient = typeof patients.$inferInsert;
