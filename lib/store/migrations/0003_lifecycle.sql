-- One lifecycle: idempotent opening, approvals bound to a plan revision, who started a run.
ALTER TABLE "deployments" ADD COLUMN "open_key" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "plan_revision" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "started_by" uuid;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "risk" jsonb;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_started_by_users_id_fk" FOREIGN KEY ("started_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "started_by" uuid;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_started_by_users_id_fk" FOREIGN KEY ("started_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Existing deployments that are not finished get their key; of duplicates opened before this
-- rule, only the newest keeps it (the others stay as they are, but no longer block or match).
UPDATE "deployments" d SET "open_key" = k.open_key
FROM (
  SELECT id, kind || ':' || coalesce(target_tag, '') AS open_key,
         row_number() OVER (PARTITION BY environment_id, kind, coalesce(target_tag, '') ORDER BY number DESC) AS rn
  FROM "deployments"
  WHERE state IN ('awaiting_approval', 'approved', 'queued', 'running')
) k
WHERE d.id = k.id AND k.rn = 1;--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_one_open_per_target" ON "deployments" USING btree ("environment_id","open_key") WHERE state in ('awaiting_approval', 'approved', 'queued', 'running') and open_key is not null;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "plan_revision" integer;--> statement-breakpoint
-- Approvals on the current plan belong to revision 1; those already voided to none (0).
UPDATE "approvals" a SET "plan_revision" = CASE WHEN a.plan_hash = d.plan_hash THEN 1 ELSE 0 END
FROM "deployments" d WHERE d.id = a.deployment_id;--> statement-breakpoint
ALTER TABLE "approvals" ALTER COLUMN "plan_revision" SET NOT NULL;--> statement-breakpoint
DROP INDEX "approvals_once_per_user_kind_plan";--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_once_per_user_kind_revision" ON "approvals" USING btree ("deployment_id","user_id","kind","plan_revision");
