import { pgEnum } from "drizzle-orm/pg-core";
import { UFS } from "../../lib/br/identifiers";
import { auditSchema, lgpdSchema } from "./schemas";

export const appointmentStatus = pgEnum("appointment_status", [
  "scheduled",
  "confirmed",
  "in_progress",
  "completed",
  "cancelled",
  "no_show",
]);

export const appointmentType = pgEnum("appointment_type", ["in_person", "telemedicine", "hybrid"]);

/** Professional councils: medicine, nursing, pharmacy, and CNEP. */
export const councilType = pgEnum("council_type", ["CRM", "COREN", "CFF", "CNEP"]);

export const councilValidation = pgEnum("council_validation", ["pending", "validated", "rejected"]);

/** Council registrations are per state (UF). */
export const uf = pgEnum("uf", UFS);

export const dataConsentStatus = pgEnum("data_consent_status", ["pending", "given", "withdrawn", "expired"]);

// Consent vocabularies live in the lgpd schema with the data they describe.

/** LGPD Art. 7 (personal data) and Art. 11 (sensitive health data) legal bases. */
export const legalBasis = lgpdSchema.enum("legal_basis", [
  "consent",
  "contract",
  "legitimate_interest",
  "vital_interest",
  "legal_obligation",
  "health_protection",
  "medical_assistance",
  "public_health",
  "health_research",
]);

export const consentStatus = lgpdSchema.enum("consent_status", ["pending", "active", "withdrawn", "expired", "revoked"]);

export const legalReviewStatus = lgpdSchema.enum("legal_review_status", ["pending", "approved", "rejected"]);

export const sessionStatus = pgEnum("session_status", ["scheduled", "waiting", "active", "completed", "cancelled", "failed"]);

export const auditAction = auditSchema.enum("audit_action", [
  "VIEW",
  "CREATE",
  "READ",
  "UPDATE",
  "DELETE",
  "EXPORT",
  "LOGIN",
  "LOGOUT",
]);

export const riskLevel = auditSchema.enum("risk_level", ["LOW", "MEDIUM", "HIGH", "CRITICAL"]);
