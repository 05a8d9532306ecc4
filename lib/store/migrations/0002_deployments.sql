CREATE TYPE "public"."approval_kind" AS ENUM('release_approval', 'compliance_signoff');--> statement-breakpoint
CREATE TYPE "public"."deployment_kind" AS ENUM('apply', 'rollback');--> statement-breakpoint
CREATE TYPE "public"."deployment_state" AS ENUM('awaiting_approval', 'approved', 'queued', 'running', 'succeeded', 'failed', 'rejected', 'cancelled');--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"deployment_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "approval_kind" NOT NULL,
	"plan_hash" text NOT NULL,
	"comment" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"number" bigserial NOT NULL,
	"environment_id" uuid NOT NULL,
	"kind" "deployment_kind" NOT NULL,
	"target_tag" text,
	"state" "deployment_state" NOT NULL,
	"created_by" uuid NOT NULL,
	"plan" jsonb NOT NULL,
	"plan_hash" text NOT NULL,
	"reject_reason" text,
	"verification" text,
	"schema_before" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployments_number_unique" UNIQUE("number")
);
--> statement-breakpoint
CREATE TABLE "run_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"at" timestamp (6) with time zone NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"deployment_id" uuid NOT NULL,
	"state" text NOT NULL,
	"worker" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"error" jsonb
);
--> statement-breakpoint
CREATE TABLE "verification_snapshots" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"environment_id" uuid NOT NULL,
	"deployment_id" uuid,
	"trigger" text NOT NULL,
	"outcome" text NOT NULL,
	"passed" integer NOT NULL,
	"failed" integer NOT NULL,
	"errored" integer NOT NULL,
	"report" jsonb NOT NULL,
	"target_version" text,
	"started_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verification_snapshots" ADD CONSTRAINT "verification_snapshots_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verification_snapshots" ADD CONSTRAINT "verification_snapshots_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_once_per_user_kind_plan" ON "approvals" USING btree ("deployment_id","user_id","kind","plan_hash");--> statement-breakpoint
CREATE INDEX "deployments_environment_state_idx" ON "deployments" USING btree ("environment_id","state");--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_one_active_per_environment" ON "deployments" USING btree ("environment_id") WHERE state in ('queued', 'running');--> statement-breakpoint
CREATE INDEX "run_events_run_idx" ON "run_events" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "verification_snapshots_env_idx" ON "verification_snapshots" USING btree ("environment_id","created_at");