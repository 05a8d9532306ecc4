ALTER TABLE "appointments" DROP CONSTRAINT "appointments_no_show_risk_range";
--> statement-breakpoint
ALTER TABLE "appointments" DROP CONSTRAINT "appointments_anvisa_protocol_format";
--> statement-breakpoint
ALTER TABLE "appointments" DROP CONSTRAINT "appointments_tuss_format";
--> statement-breakpoint
ALTER TABLE "patients" DROP CONSTRAINT "patients_no_show_risk_range";
--> statement-breakpoint
ALTER TABLE "patients" DROP CONSTRAINT "patients_cns_format";
--> statement-breakpoint
ALTER TABLE "patients" DROP CONSTRAINT "patients_cpf_format";
--> statement-breakpoint
ALTER TABLE "professionals" DROP CONSTRAINT "professionals_crm_format";
--> statement-breakpoint
ALTER TABLE "clinics" DROP CONSTRAINT "clinics_cnes_format";
--> statement-breakpoint
ALTER TABLE "patients" DROP CONSTRAINT "patients_cns_unique";
--> statement-breakpoint
ALTER TABLE "patients" DROP CONSTRAINT "patients_cpf_unique";
--> statement-breakpoint
ALTER TABLE "appointments" DROP COLUMN "no_show_risk_factors", DROP COLUMN "no_show_risk_score", DROP COLUMN "prior_auth_number", DROP COLUMN "prior_auth_required", DROP COLUMN "anvisa_protocol_number", DROP COLUMN "anvisa_compliant", DROP COLUMN "cfm_validation_status", DROP COLUMN "cfm_professional_crm", DROP COLUMN "tuss_code";
--> statement-breakpoint
ALTER TABLE "patients" DROP COLUMN "no_show_prediction_features", DROP COLUMN "no_show_risk_score", DROP COLUMN "data_portability_requested", DROP COLUMN "right_to_forget_requested", DROP COLUMN "data_anonymized_at", DROP COLUMN "data_anonymization_scheduled", DROP COLUMN "data_retention_until", DROP COLUMN "data_consent_status", DROP COLUMN "sensitive_data_consent", DROP COLUMN "rg_issuing_organ", DROP COLUMN "rg", DROP COLUMN "cns", DROP COLUMN "cpf";
--> statement-breakpoint
ALTER TABLE "professionals" DROP COLUMN "license_expiry_date", DROP COLUMN "council_validation", DROP COLUMN "council_state", DROP COLUMN "council_license", DROP COLUMN "council_type";
--> statement-breakpoint
ALTER TABLE "clinics" DROP COLUMN "lgpd_dpo_email", DROP COLUMN "anvisa_license", DROP COLUMN "cnes_code";
--> statement-breakpoint
DROP TYPE "public"."uf";
--> statement-breakpoint
DROP TYPE "public"."data_consent_status";
--> statement-breakpoint
DROP TYPE "public"."council_validation";
--> statement-breakpoint
DROP TYPE "public"."council_type";
