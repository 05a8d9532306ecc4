CREATE TYPE "public"."council_type" AS ENUM('CRM', 'COREN', 'CFF', 'CNEP');--> statement-breakpoint
CREATE TYPE "public"."council_validation" AS ENUM('pending', 'validated', 'rejected');--> statement-breakpoint
CREATE TYPE "public"."data_consent_status" AS ENUM('pending', 'given', 'withdrawn', 'expired');--> statement-breakpoint
CREATE TYPE "public"."uf" AS ENUM('AC', 'AL', 'AP', 'AM', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MT', 'MS', 'MG', 'PA', 'PB', 'PR', 'PE', 'PI', 'RJ', 'RN', 'RS', 'RO', 'RR', 'SC', 'SP', 'SE', 'TO');--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "cnes_code" text;--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "anvisa_license" text;--> statement-breakpoint
ALTER TABLE "clinics" ADD COLUMN "lgpd_dpo_email" text;--> statement-breakpoint
ALTER TABLE "professionals" ADD COLUMN "council_type" "council_type";--> statement-breakpoint
ALTER TABLE "professionals" ADD COLUMN "council_license" text;--> statement-breakpoint
ALTER TABLE "professionals" ADD COLUMN "council_state" "uf";--> statement-breakpoint
ALTER TABLE "professionals" ADD COLUMN "council_validation" "council_validation" DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "professionals" ADD COLUMN "license_expiry_date" date;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "cpf" text;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "cns" text;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "rg" text;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "rg_issuing_organ" text;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "sensitive_data_consent" jsonb;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "data_consent_status" "data_consent_status" DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "data_retention_until" date;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "data_anonymization_scheduled" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "data_anonymized_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "right_to_forget_requested" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "data_portability_requested" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "no_show_risk_score" integer;--> statement-breakpoint
ALTER TABLE "patients" ADD COLUMN "no_show_prediction_features" jsonb;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "tuss_code" text;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "cfm_professional_crm" text;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "cfm_validation_status" "council_validation" DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "anvisa_compliant" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "anvisa_protocol_number" text;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "prior_auth_required" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "prior_auth_number" text;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "no_show_risk_score" integer;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "no_show_risk_factors" jsonb;--> statement-breakpoint
ALTER TABLE "patients" ADD CONSTRAINT "patients_cpf_unique" UNIQUE("cpf");--> statement-breakpoint
ALTER TABLE "patients" ADD CONSTRAINT "patients_cns_unique" UNIQUE("cns");--> statement-breakpoint
ALTER TABLE "clinics" ADD CONSTRAINT "clinics_cnes_format" CHECK ("clinics"."cnes_code" ~ '^[0-9]{7}$');--> statement-breakpoint
ALTER TABLE "professionals" ADD CONSTRAINT "professionals_crm_format" CHECK ("professionals"."council_type" <> 'CRM' OR ("professionals"."council_license" ~ '^[0-9]{4,6}$' AND "professionals"."council_state" IS NOT NULL));--> statement-breakpoint
ALTER TABLE "patients" ADD CONSTRAINT "patients_cpf_format" CHECK ("patients"."cpf" ~ '^[0-9]{11}$');--> statement-breakpoint
ALTER TABLE "patients" ADD CONSTRAINT "patients_cns_format" CHECK ("patients"."cns" ~ '^[0-9]{15}$');--> statement-breakpoint
ALTER TABLE "patients" ADD CONSTRAINT "patients_no_show_risk_range" CHECK ("patients"."no_show_risk_score" BETWEEN 0 AND 100);--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_tuss_format" CHECK ("appointments"."tuss_code" ~ '^[0-9]{8}$');--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_anvisa_protocol_format" CHECK ("appointments"."anvisa_protocol_number" ~ '^[0-9]{4}\.[0-9]{6}/[0-9]{4}-[0-9]{2}$');--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_no_show_risk_range" CHECK ("appointments"."no_show_risk_score" BETWEEN 0 AND 100);