-- Non-transactional too: each DROP INDEX CONCURRENTLY runs on its own.
DROP INDEX CONCURRENTLY IF EXISTS "public"."patients_cpf_hash_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."patients_cns_hash_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."patients_clinic_active_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."patients_anonymization_due_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."patients_no_show_risk_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."patients_full_name_fts_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."appointments_clinic_start_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."appointments_professional_start_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."appointments_patient_start_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."appointments_status_start_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."appointments_tuss_code_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."appointments_no_show_risk_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."appointments_clinical_notes_fts_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "lgpd"."lgpd_consents_patient_status_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "lgpd"."lgpd_consents_clinic_status_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "lgpd"."lgpd_consents_active_expiry_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."telemedicine_sessions_active_clinic_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "public"."telemedicine_sessions_crm_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "audit"."audit_logs_clinic_created_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "audit"."audit_logs_patient_created_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "audit"."audit_logs_retention_idx";
