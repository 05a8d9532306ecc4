-- RESTRICT (the default) on purpose: a schema that still holds objects means a later migration was not rolled back.
DROP SCHEMA "lgpd";
--> statement-breakpoint
DROP SCHEMA "audit";
--> statement-breakpoint
DROP EXTENSION IF EXISTS "btree_gist";
--> statement-breakpoint
DROP EXTENSION IF EXISTS "pg_stat_statements";
--> statement-breakpoint
DROP EXTENSION IF EXISTS "uuid-ossp";
--> statement-breakpoint
DROP EXTENSION IF EXISTS "pgcrypto";
