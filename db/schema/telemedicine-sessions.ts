import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { appointments } from "./appointments";
import { clinicIdColumn } from "./clinics";
import { createdAt, id, updatedAt } from "./columns";
import { sessionStatus, uf } from "./enums";
import { lgpdConsents } from "./lgpd-consents";
import { patientIdColumn } from "./patients";
import { tenantPolicies } from "./rls";

/** A telemedicine consultation under CFM Resolution 2314/2022 (identified professional, ICP-Brasil, NGS2). */
export const telemedicineSessions = pgTable(
  "telemedicine_sessions",
  {
    id: id(),
    appointmentId: uuid("appointment_id")
      .notNull()
      .unique("telemedicine_sessions_appointment_id_unique")
      .references(() => appointments.id),
    patientId: patientIdColumn(),
    clinicId: clinicIdColumn(),
    cfmProfessionalCrm: text("cfm_professional_crm"),
    cfmProfessionalState: uf("cfm_professional_state"),
    cfmSpecialtyCode: text("cfm_specialty_code"),
    icpBrasilCertSerialNumber: text("icp_brasil_cert_serial_number"),
    icpBrasilCertFingerprint: text("icp_brasil_cert_fingerprint"),
    icpBrasilCertValidTo: timestamp("icp_brasil_cert_valid_to", { withTimezone: true }),
    ngs2SecurityLevel: text("ngs2_security_level").notNull().default("level_2"),
    ngs2EncryptionStandard: text("ngs2_encryption_standard").notNull().default("AES_256"),
    ngs2KeyManagement: jsonb("ngs2_key_management"),
    sessionToken: text("session_token").notNull().unique("telemedicine_sessions_session_token_unique"),
    /** A secret: the console never displays it (see classification.ts). */
    sessionEncryptionKey: text("session_encryption_key"),
    sessionStatus: sessionStatus("session_status").notNull().default("scheduled"),
    startedAt: timestamp("started_at", { withTimezone: true }),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    recordingEnabled: boolean("recording_enabled").notNull().default(false),
    recordingConsent: boolean("recording_consent").notNull().default(false),
    lgpdCompliant: boolean("lgpd_compliant").notNull().default(false),
    lgpdConsentId: uuid("lgpd_consent_id").references(() => lgpdConsents.id),
    prescriptions: jsonb("prescriptions"),
    patientSatisfaction: integer("patient_satisfaction"),
    insurancePreAuthorization: text("insurance_pre_authorization"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("telemedicine_sessions_crm_format", sql`${t.cfmProfessionalCrm} ~ '^[0-9]{4,6}$'`),
    check("telemedicine_sessions_cert_fingerprint_format", sql`${t.icpBrasilCertFingerprint} ~ '^[0-9a-f]{64}$'`),
    check("telemedicine_sessions_satisfaction_range", sql`${t.patientSatisfaction} BETWEEN 1 AND 5`),
    // Recording a consultation needs the patient's consent.
    check("telemedicine_sessions_recording_consented", sql`NOT ${t.recordingEnabled} OR ${t.recordingConsent}`),
    ...tenantPolicies("telemedicine_sessions", t.clinicId),
    // Performance indexes: built CONCURRENTLY by migration 0008.
    index("telemedicine_sessions_active_clinic_idx")
      .on(t.clinicId, t.sessionStatus)
      .where(sql`${t.sessionStatus} = 'active'`),
    index("telemedicine_sessions_crm_idx").on(t.cfmProfessionalCrm),
  ],
);

export type TelemedicineSession = typeof telemedicineSessions.$inferSelect;
export type NewTelemedicineSession = typeof telemedicineSessions.$inferInsert;
