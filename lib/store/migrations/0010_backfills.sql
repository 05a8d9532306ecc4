-- Backfills run as deployments of their own kind. The new enum value is not used in this migration
-- (PostgreSQL refuses a value added in the same transaction).
ALTER TYPE "public"."deployment_kind" ADD VALUE IF NOT EXISTS 'backfill';--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "backfill_name" text;--> statement-breakpoint
CREATE TABLE "backfill_progress" (
	"deployment_id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"control" text DEFAULT 'run' NOT NULL,
	"cursor" text,
	"rows_total" bigint NOT NULL,
	"rows_done" bigint DEFAULT 0 NOT NULL,
	"batches" integer DEFAULT 0 NOT NULL,
	"batch_size" integer NOT NULL,
	"last_batch_ms" integer,
	"rows_per_second" double precision,
	"active_ms" bigint DEFAULT 0 NOT NULL,
	"last_pause_reason" text,
	"last_pause_kind" text,
	"last_pause_at" timestamp with time zone,
	"last_resume_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "backfill_progress_status_check" CHECK ("status" in ('queued', 'running', 'throttled', 'paused', 'succeeded', 'failed', 'cancelled')),
	CONSTRAINT "backfill_progress_control_check" CHECK ("control" in ('run', 'pause', 'cancel'))
);
--> statement-breakpoint
ALTER TABLE "backfill_progress" ADD CONSTRAINT "backfill_progress_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;
