-- Never DROP ROLE here: app_user is shared by every database on the server. Explicit REVOKEs rather than
-- DROP OWNED BY, which would also revoke app_user's privileges on shared objects (other databases).
REVOKE EXECUTE ON FUNCTION "public"."set_clinic_context"(uuid, uuid, text) FROM "app_user";
--> statement-breakpoint
REVOKE ALL ON "consent_records", "audit"."audit_logs" FROM "app_user";
--> statement-breakpoint
REVOKE ALL ON "clinics", "professionals", "patients", "appointments", "lgpd"."lgpd_consents", "telemedicine_sessions" FROM "app_user";
--> statement-breakpoint
REVOKE USAGE ON SCHEMA "public", "lgpd", "audit" FROM "app_user";
--> statement-breakpoint
DROP POLICY "clinics_tenant_select" ON "clinics";
--> statement-breakpoint
DROP POLICY "clinics_tenant_insert" ON "clinics";
--> statement-breakpoint
DROP POLICY "clinics_tenant_update" ON "clinics";
--> statement-breakpoint
DROP POLICY "clinics_tenant_delete" ON "clinics";
--> statement-breakpoint
DROP POLICY "professionals_tenant_select" ON "professionals";
--> statement-breakpoint
DROP POLICY "professionals_tenant_insert" ON "professionals";
--> statement-breakpoint
DROP POLICY "professionals_tenant_update" ON "professionals";
--> statement-breakpoint
DROP POLICY "professionals_tenant_delete" ON "professionals";
--> statement-breakpoint
DROP POLICY "patients_tenant_select" ON "patients";
--> statement-breakpoint
DROP POLICY "patients_tenant_insert" ON "patients";
--> statement-breakpoint
DROP POLICY "patients_tenant_update" ON "patients";
--> statement-breakpoint
DROP POLICY "patients_tenant_delete" ON "patients";
--> statement-breakpoint
DROP POLICY "appointments_tenant_select" ON "appointments";
--> statement-breakpoint
DROP POLICY "appointments_tenant_insert" ON "appointments";
--> statement-breakpoint
DROP POLICY "appointments_tenant_update" ON "appointments";
--> statement-breakpoint
DROP POLICY "appointments_tenant_delete" ON "appointments";
--> statement-breakpoint
DROP POLICY "lgpd_consents_tenant_select" ON "lgpd"."lgpd_consents";
--> statement-breakpoint
DROP POLICY "lgpd_consents_tenant_insert" ON "lgpd"."lgpd_consents";
--> statement-breakpoint
DROP POLICY "lgpd_consents_tenant_update" ON "lgpd"."lgpd_consents";
--> statement-breakpoint
DROP POLICY "lgpd_consents_tenant_delete" ON "lgpd"."lgpd_consents";
--> statement-breakpoint
DROP POLICY "consent_records_tenant_select" ON "consent_records";
--> statement-breakpoint
DROP POLICY "consent_records_tenant_insert" ON "consent_records";
--> statement-breakpoint
DROP POLICY "telemedicine_sessions_tenant_select" ON "telemedicine_sessions";
--> statement-breakpoint
DROP POLICY "telemedicine_sessions_tenant_insert" ON "telemedicine_sessions";
--> statement-breakpoint
DROP POLICY "telemedicine_sessions_tenant_update" ON "telemedicine_sessions";
--> statement-breakpoint
DROP POLICY "telemedicine_sessions_tenant_delete" ON "telemedicine_sessions";
--> statement-breakpoint
DROP POLICY "audit_logs_tenant_select" ON "audit"."audit_logs";
--> statement-breakpoint
DROP POLICY "audit_logs_tenant_insert" ON "audit"."audit_logs";
--> statement-breakpoint
ALTER TABLE "clinics" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "professionals" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "patients" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "appointments" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "lgpd"."lgpd_consents" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "consent_records" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "telemedicine_sessions" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "audit"."audit_logs" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "clinics" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "professionals" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "patients" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "appointments" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "lgpd"."lgpd_consents" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "consent_records" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "telemedicine_sessions" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "audit"."audit_logs" DISABLE ROW LEVEL SECURITY;
--> statement-breakpoint
DROP FUNCTION "public"."set_clinic_context"(uuid, uuid, text);
