import { sql } from "drizzle-orm";
import { boolean, check, index, inet, jsonb, text, timestamp } from "drizzle-orm/pg-core";
import { clinicIdColumn } from "./clinics";
import { createdAt, id } from "./columns";
import { consentStatus, legalBasis, legalReviewStatus } from "./enums";
import { patientIdColumn } from "./patients";
import { tenantPolicies } from "./rls";
import { lgpdSchema } from "./schemas";

/**
 * One consent (or other legal basis) per patient and purpose. `consent_hash` is the proof: a trigger computes
 * it from the canonical consent fields on insert and refuses later changes to them (migration 0004), so the
 * value an insert supplies is always replaced.
 */
export const lgpdConsents = lgpdSchema.table(
  "lgpd_consents",
  {
    id: id(),
    patientId: patientIdColumn(),
    clinicId: clinicIdColumn(),
    legalBasis: legalBasis("legal_basis").notNull(),
    processingPurpose: text("processing_purpose").notNull(),
    dataCategories: text("data_categories").array().notNull().default(sql`'{}'::text[]`),
    consentVersion: text("consent_version").notNull(),
    consentText: text("consent_text").notNull(),
    consentStatus: consentStatus("consent_status").notNull().default("pending"),
    givenAt: timestamp("given_at", { withTimezone: true }),
    withdrawnAt: timestamp("withdrawn_at", { withTimezone: true }),
    scheduledExpiryAt: timestamp("scheduled_expiry_at", { withTimezone: true }),
    // Optional on insert: the trigger overwrites it before the format check runs, and without the trigger
    // the empty placeholder fails that check loudly.
    consentHash: text("consent_hash")
      .notNull()
      .unique("lgpd_consents_consent_hash_unique")
      .$defaultFn(() => ""),
    cryptographicProof: jsonb("cryptographic_proof"),
    collectionMethod: text("collection_method"),
    ipAddress: inet("ip_address"),
    geolocation: jsonb("geolocation"),
    withdrawalReason: text("withdrawal_reason"),
    dataPortabilityGranted: boolean("data_portability_granted").notNull().default(false),
    evidenceDocuments: jsonb("evidence_documents"),
    legalReviewStatus: legalReviewStatus("legal_review_status").notNull().default("pending"),
    createdAt: createdAt(),
  },
  (t) => [
    check("lgpd_consents_consent_hash_format", sql`${t.consentHash} ~ '^[0-9a-f]{64}$'`),
    check(
      "lgpd_consents_withdrawal_dated",
      sql`${t.consentStatus} NOT IN ('withdrawn', 'revoked') OR ${t.withdrawnAt} IS NOT NULL`,
    ),
    ...tenantPolicies("lgpd_consents", t.clinicId),
    // Performance indexes: built CONCURRENTLY by migration 0008.
    index("lgpd_consents_patient_status_idx").on(t.patientId, t.consentStatus),
    index("lgpd_consents_clinic_status_idx").on(t.clinicId, t.consentStatus),
    index("lgpd_consents_active_expiry_idx").on(t.scheduledExpiryAt).where(sql`${t.consentStatus} = 'active'`),
  ],
);

export type LgpdConsent = typeof lgpdConsents.$inferSelect;
export type NewLgpdConsent = typeof lgpdConsents.$inferInsert;
