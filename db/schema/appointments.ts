import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { clinicIdColumn } from "./clinics";
import { createdAt, id, updatedAt } from "./columns";
import { appointmentStatus, appointmentType, councilValidation } from "./enums";
import { patientIdColumn } from "./patients";
import { professionals } from "./professionals";
import { tenantPolicies } from "./rls";

export const appointments = pgTable(
  "appointments",
  {
    id: id(),
    clinicId: clinicIdColumn(),
    patientId: patientIdColumn(),
    professionalId: uuid("professional_id")
      .notNull()
      .references(() => professionals.id),
    startTime: timestamp("start_time", { withTimezone: true }).notNull(),
    endTime: timestamp("end_time", { withTimezone: true }).notNull(),
    status: appointmentStatus("status").notNull().default("scheduled"),
    appointmentType: appointmentType("appointment_type").notNull().default("in_person"),
    /** TUSS procedure code (ANS terminology for supplementary health). */
    tussCode: text("tuss_code"),
    cfmProfessionalCrm: text("cfm_professional_crm"),
    cfmValidationStatus: councilValidation("cfm_validation_status").notNull().default("pending"),
    anvisaCompliant: boolean("anvisa_compliant").notNull().default(false),
    anvisaProtocolNumber: text("anvisa_protocol_number"),
    priorAuthRequired: boolean("prior_auth_required").notNull().default(false),
    priorAuthNumber: text("prior_auth_number"),
    noShowRiskScore: integer("no_show_risk_score"),
    noShowRiskFactors: jsonb("no_show_risk_factors"),
    chiefComplaint: text("chief_complaint"),
    clinicalNotes: text("clinical_notes"),
    createdBy: uuid("created_by"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("appointments_time_order", sql`${t.endTime} > ${t.startTime}`),
    check("appointments_tuss_format", sql`${t.tussCode} ~ '^[0-9]{8}$'`),
    check(
      "appointments_anvisa_protocol_format",
      sql`${t.anvisaProtocolNumber} ~ '^[0-9]{4}\\.[0-9]{6}/[0-9]{4}-[0-9]{2}$'`,
    ),
    check("appointments_no_show_risk_range", sql`${t.noShowRiskScore} BETWEEN 0 AND 100`),
    ...tenantPolicies("appointments", t.clinicId),
    // Performance indexes: built CONCURRENTLY by migration 0008.
    index("appointments_clinic_start_idx").on(t.clinicId, t.startTime),
    index("appointments_professional_start_idx").on(t.professionalId, t.startTime),
    index("appointments_patient_start_idx").on(t.patientId, t.startTime),
    index("appointments_status_start_idx").on(t.status, t.startTime),
    index("appointments_tuss_code_idx").on(t.tussCode),
    index("appointments_no_show_risk_idx").on(t.noShowRiskScore),
    index("appointments_clinical_notes_fts_idx").using("gin", sql`to_tsvector('portuguese', ${t.clinicalNotes})`),
  ],
);

export type Appointment = typeof appointments.$inferSelect;
export type NewAppointment = typeof appointments.$inferInsert;
