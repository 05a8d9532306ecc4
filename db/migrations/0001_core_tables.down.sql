DROP TABLE "appointments";
--> statement-breakpoint
DROP TABLE "patients";
--> statement-breakpoint
DROP TABLE "professionals";
--> statement-breakpoint
DROP TABLE "clinics";
--> statement-breakpoint
DROP TYPE "public"."appointment_type";
--> statement-breakpoint
DROP TYPE "public"."appointment_status";
