CREATE TYPE "lgpd"."consent_status" AS ENUM('pending', 'active', 'withdrawn', 'expired', 'revoked');--> statement-breakpoint
CREATE TYPE "lgpd"."legal_basis" AS ENUM('consent', 'contract', 'legitimate_interest', 'vital_interest', 'legal_obligation', 'health_protection', 'medical_assistance', 'public_health', 'health_research');--> statement-breakpoint
CREATE TYPE "lgpd"."legal_review_status" AS ENUM('pending', 'approved', 'rejected');--> statement-breakpoint
CREATE TABLE "lgpd"."lgpd_consents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"patient_id" uuid NOT NULL,
	"clinic_id" uuid NOT NULL,
	"legal_basis" "lgpd"."legal_basis" NOT NULL,
	"processing_purpose" text NOT NULL,
	"data_categories" text[] DEFAULT '{}'::text[] NOT NULL,
	"consent_version" text NOT NULL,
	"consent_text" text NOT NULL,
	"consent_status" "lgpd"."consent_status" DEFAULT 'pending' NOT NULL,
	"given_at" timestamp with time zone,
	"withdrawn_at" timestamp with time zone,
	"scheduled_expiry_at" timestamp with time zone,
	"consent_hash" text NOT NULL,
	"cryptographic_proof" jsonb,
	"collection_method" text,
	"ip_address" "inet",
	"geolocation" jsonb,
	"withdrawal_reason" text,
	"data_portability_granted" boolean DEFAULT false NOT NULL,
	"evidence_documents" jsonb,
	"legal_review_status" "lgpd"."legal_review_status" DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "lgpd_consents_consent_hash_unique" UNIQUE("consent_hash"),
	CONSTRAINT "lgpd_consents_consent_hash_format" CHECK ("lgpd"."lgpd_consents"."consent_hash" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "lgpd_consents_withdrawal_dated" CHECK ("lgpd"."lgpd_consents"."consent_status" NOT IN ('withdrawn', 'revoked') OR "lgpd"."lgpd_consents"."withdrawn_at" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "consent_records" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"patient_id" uuid NOT NULL,
	"clinic_id" uuid NOT NULL,
	"consent_type" text NOT NULL,
	"purpose" text NOT NULL,
	"legal_basis" "lgpd"."legal_basis" NOT NULL,
	"status" "lgpd"."consent_status" NOT NULL,
	"given_at" timestamp with time zone,
	"withdrawn_at" timestamp with time zone,
	"evidence" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "lgpd"."lgpd_consents" ADD CONSTRAINT "lgpd_consents_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lgpd"."lgpd_consents" ADD CONSTRAINT "lgpd_consents_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consent_records" ADD CONSTRAINT "consent_records_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consent_records" ADD CONSTRAINT "consent_records_clinic_id_clinics_id_fk" FOREIGN KEY ("clinic_id") REFERENCES "public"."clinics"("id") ON DELETE no action ON UPDATE no action;