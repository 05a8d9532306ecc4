DROP TABLE "audit"."audit_logs";
--> statement-breakpoint
DROP TABLE "telemedicine_sessions";
--> statement-breakpoint
DROP TYPE "public"."session_status";
--> statement-breakpoint
DROP TYPE "audit"."risk_level";
--> statement-breakpoint
DROP TYPE "audit"."audit_action";
