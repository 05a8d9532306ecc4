DROP TABLE "consent_records";
--> statement-breakpoint
DROP TABLE "lgpd"."lgpd_consents";
--> statement-breakpoint
DROP TYPE "lgpd"."legal_review_status";
--> statement-breakpoint
DROP TYPE "lgpd"."legal_basis";
--> statement-breakpoint
DROP TYPE "lgpd"."consent_status";
