import { bigint, check, doublePrecision, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
import { deployments } from "./deployments";

export const BACKFILL_STATUSES = ["queued", "running", "throttled", "paused", "succeeded", "failed", "cancelled"] as const;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];
/** What a release manager asked for; the runner reads it before every batch. */
export type BackfillControl = "run" | "pause" | "cancel";

/**
 * A backfill deployment's progress, written by its runner after every batch: the cursor (the last key
 * done) is what a restarted worker resumes from.
 */
export const backfillProgress = pgTable(
  "backfill_progress",
  {
    deploymentId: uuid("deployment_id")
      .primaryKey()
      .references(() => deployments.id),
    status: text("status").$type<BackfillStatus>().notNull(),
    control: text("control").$type<BackfillControl>().notNull().default("run"),
    /** The last key whose batch committed on the target, as text; null before the first batch. */
    cursor: text("cursor"),
    /** Rows that needed the backfill when the run started (counted on the target), plus those that began to need it since and were reached. */
    rowsTotal: bigint("rows_total", { mode: "number" }).notNull(),
    rowsDone: bigint("rows_done", { mode: "number" }).notNull().default(0),
    batches: integer("batches").notNull().default(0),
    /** The size the next batch will have. */
    batchSize: integer("batch_size").notNull(),
    lastBatchMs: integer("last_batch_ms"),
    rowsPerSecond: doublePrecision("rows_per_second"),
    /** Time spent running batches (not paused or throttled). */
    activeMs: bigint("active_ms", { mode: "number" }).notNull().default(0),
    lastPauseReason: text("last_pause_reason"),
    /** "pressure" (the runner yielded to the target) or "operator" (a release manager paused it). */
    lastPauseKind: text("last_pause_kind").$type<"pressure" | "operator">(),
    lastPauseAt: timestamp("last_pause_at", { withTimezone: true }),
    lastResumeAt: timestamp("last_resume_at", { withTimezone: true }),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("backfill_progress_status_check", sql`${t.status} in ('queued', 'running', 'throttled', 'paused', 'succeeded', 'failed', 'cancelled')`),
    check("backfill_progress_control_check", sql`${t.control} in ('run', 'pause', 'cancel')`),
  ],
);

export type BackfillProgress = typeof backfillProgress.$inferSelect;
