import { pgEnum } from "drizzle-orm/pg-core";

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

/** The 26 states and the Federal District: council registrations are per state. */
export const BRAZILIAN_UFS = [
  "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
  "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
] as const;
export type Uf = (typeof BRAZILIAN_UFS)[number];

export const uf = pgEnum("uf", BRAZILIAN_UFS);

export const dataConsentStatus = pgEnum("data_consent_status", ["pending", "given", "withdrawn", "expired"]);
