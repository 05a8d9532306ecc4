CREATE TABLE "environment_status" (
	"environment_id" uuid PRIMARY KEY NOT NULL,
	"current_version" text,
	"pending_count" integer,
	"pending" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"ledger_problems" integer DEFAULT 0 NOT NULL,
	"reachable" boolean NOT NULL,
	"server_version" text,
	"error" text,
	"verification_id" uuid,
	"verification_outcome" text,
	"verification_at" timestamp with time zone,
	"failing_groups" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"drift" jsonb,
	"drift_since" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "environment_status" ADD CONSTRAINT "environment_status_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"event" text NOT NULL,
	"payload" jsonb NOT NULL,
	"dispatched_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "notifications_undispatched_idx" ON "notifications" USING btree ("created_at") WHERE "dispatched_at" is null;--> statement-breakpoint
CREATE TABLE "notification_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"notification_id" uuid NOT NULL,
	"channel" integer NOT NULL,
	"url_env" text NOT NULL,
	"format" text NOT NULL,
	"state" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status" integer,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "notification_deliveries_once" UNIQUE("notification_id","channel")
);
--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_notification_id_notifications_id_fk" FOREIGN KEY ("notification_id") REFERENCES "public"."notifications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "notification_deliveries_created_idx" ON "notification_deliveries" USING btree ("created_at");--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"algorithm" text NOT NULL,
	"public_key" text NOT NULL,
	"private_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "deployments_finished_by_environment_idx" ON "deployments" USING btree ("environment_id","number") WHERE "deployments"."state" in ('succeeded', 'failed');
--> statement-breakpoint
CREATE INDEX "runs_deployment_idx" ON "runs" USING btree ("deployment_id");
