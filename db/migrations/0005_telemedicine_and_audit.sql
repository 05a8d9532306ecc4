CREATE TYPE "audit"."audit_action" AS ENUM('VIEW', 'CREATE', 'READ', 'UPDATE', 'DELETE', 'EXPORT', 'LOGIN', 'LOGOUT');--> statement-breakpoint
CREATE TYPE "audit"."risk_level" AS ENUM('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');--> statement-breakpoint
CREATE TYPE "public"."session_status" AS ENUM('scheduled', 'waiting', 'active', 'completed', 'cancelled', 'failed');--> statement-breakpoint
CREATE TABLE "telemedicine_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"appointment_id" uuid NOT NULL,
	"patient_id" uuid NOT NULL,
	"clinic_id" uuid NOT NULL,
	"cfm_professional_crm" text,
	"cfm_professional_state" "uf",
	"cfm_specialty_code" text,
	"icp_brasil_cert_serial_number" text,
	"icp_brasil_cert_fingerprint" text,
	"icp_brasil_cert_valid_to" timestamp with time zone,
	"ngs2_security_level" text DEFAULT 'level_2' NOT NULL,
	"ngs2_encryption_standard" text DEFAULT 'AES_256' NOT NULL,
	"ngs2_key_management" jsonb,
	"session_token" text NOT NULL,
	"session_encryption_key" text,
	"session_status" "session_status" DEFAULT 'scheduled' NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"recording_enabled" boolean DEFAULT false NOT NULL,
	"recording_consent" boolean DEFAULT false NOT NULL,
	"lgpd_compliant" boolean DEFAULT false NOT NULL,
	"lgpd_consent_id" uuid,
	"prescriptions" jsonb,
	"patient_satisfaction" integer,
	"insurance_pre_authorization" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "telemedicine_sessions_appointment_id_unique" UNIQUE("appointment_id"),
	CONSTRAINT "telemedicine_sessions_session_token_unique" UNIQUE("session_token"),
	CONSTRAINT "telemedicine_sessions_crm_format" CHECK ("telemedicine_sessions"."cfm_professional_crm" ~ '^[0-9]{4,6}$'),
	CONSTRAINT "telemedicine_sessions_cert_fingerprint_format" CHECK ("telemedicine_sessions"."icp_brasil_cert_fingerprint" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "telemedicine_sessions_satisfaction_range" CHECK ("telemedicine_sessions"."patient_satisfaction" BETWEEN 1 AND 5),
	CONSTRAINT "telemedicine_sessions_recording_consented" CHECK (NOT "telemedicine_sessions"."recording_enabled" OR "telemedicine_sessions"."recording_consent")
);
--> statement-breakpoint
CREATE TABLE "audit"."audit_logs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"clinic_id" uuid NOT NULL,
	"user_id" uuid,
	"patient_id" uuid,
	"action" "audit"."audit_action" NOT NULL,
	"resource_type" text NOT NULL,
	"resource_id" text,
	"status" text DEFAULT 'success' NOT NULL,
	"risk_level" "audit"."risk_level" DEFAULT 'LOW' NOT NULL,
	"ip_address" "inet",
	"details" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retention_until" timestamp with time zone DEFAULT (now() + interval '7 years') NOT NULL,
	CONSTRAINT "audit_logs_retention_7_years" CHECK ("audit"."audit_logs"."retention_until" >= "audit"."audit_logs"."created_at" + interval '7 years')
);
--> statement-breakpoint
ALTER TABLE "telemedicine_sessions" ADD CONSTRAINT "telemedicine_sessions_appointment_id_appointments_id_fk" FOREIGN KEY ("appointment_id") REFERENCES "public"."appointments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "telemedicine_sessions" ADD CONSTRAINT "telemedicine_sessions_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "telemedicine_sessions" ADD CONSTRAINT "telemedicine_sessions_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "telemedicine_sessions" ADD CONSTRAINT "telemedicine_sessions_lgpd_consent_id_lgpd_consents_id_fk" FOREIGN KEY ("lgpd_consent_id") REFERENCES "lgpd"."lgpd_consents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit"."audit_logs" ADD CONSTRAINT "audit_logs_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;