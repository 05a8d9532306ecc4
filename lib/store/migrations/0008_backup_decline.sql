ALTER TABLE "deployments" ADD COLUMN "backup_declined_reason" text;
