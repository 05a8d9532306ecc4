import { pgSchema } from "drizzle-orm/pg-core";

/** Consent data (LGPD) lives apart from clinical data so grants and audits can address it as a whole. */
export const lgpdSchema = pgSchema("lgpd");
/** The audit trail: append-only, kept at least seven years. */
export const auditSchema = pgSchema("audit");

export const TARGET_SCHEMAS = ["public", "lgpd", "audit"] as const;
export type TargetSchema = (typeof TARGET_SCHEMAS)[number];

/** Extensions the migrations install; pg_trgm is optional and not required. */
export const REQUIRED_EXTENSIONS = ["pgcrypto", "uuid-ossp", "pg_stat_statements", "btree_gist"] as const;

/** PostgreSQL 15 is the oldest version the platform runs. */
export const MIN_SERVER_VERSION_NUM = 150000;
