import { boolean, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { environments } from "./environments";

/** One drifted object, as the Overview, the environment pages and `status --json` name it. */
export interface DriftObject {
  /** e.g. `table public.patients`, `policy public.patients.tenant_isolation`. */
  object: string;
  change: "added" | "removed" | "changed";
  /** What differs, e.g. `rlsEnabled`; empty for added/removed. */
  fields: string[];
  /** The board group it turns red, when it touches RLS, policies or tagged data. */
  group: string | null;
}

export interface DriftSummary {
  /** null when drift could not be checked (no shadow server, or the rebuild failed). */
  drifted: boolean | null;
  objects: DriftObject[];
  /** Why drift could not be checked, when so. */
  unchecked: string | null;
  checkedAt: string;
}

/**
 * Every environment's state as the last verification run saw it: what the Overview and the
 * environment lists read instead of connecting to every target per request. One writer:
 * lib/targets/status-summary.ts (called by every verification run, whatever its trigger).
 */
export const environmentStatus = pgTable("environment_status", {
  environmentId: uuid("environment_id")
    .primaryKey()
    .references(() => environments.id),
  currentVersion: text("current_version"),
  pendingCount: integer("pending_count"),
  pending: jsonb("pending").$type<string[]>().notNull().default([]),
  ledgerProblems: integer("ledger_problems").notNull().default(0),
  reachable: boolean("reachable").notNull(),
  serverVersion: text("server_version"),
  error: text("error"),
  verificationId: uuid("verification_id"),
  verificationOutcome: text("verification_outcome"),
  verificationAt: timestamp("verification_at", { withTimezone: true }),
  failingGroups: jsonb("failing_groups").$type<string[]>().notNull().default([]),
  drift: jsonb("drift").$type<DriftSummary>(),
  /** When the current drift was first seen; null while there is none. */
  driftSince: timestamp("drift_since", { withTimezone: true }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type EnvironmentStatusRow = typeof environmentStatus.$inferSelect;
