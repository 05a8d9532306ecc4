import { index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";

/**
 * Failed sign-ins per account and per client address: growing delays, then a temporary lock an
 * admin can lift. In the store so every web server (and the CLI) sees the same counts.
 */
export const signInThrottles = pgTable("sign_in_throttles", {
  /** "account:<lower-case email>" or "address:<client address>". */
  key: text("key").primaryKey(),
  kind: text("kind", { enum: ["account", "address"] }).notNull(),
  subject: text("subject").notNull(),
  /** Failures since the last success (accounts) or within the window (addresses). */
  failures: integer("failures").notNull().default(0),
  lastFailureAt: timestamp("last_failure_at", { withTimezone: true }),
  /** No attempt is checked before this (the growing delay). */
  nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }),
  lockedUntil: timestamp("locked_until", { withTimezone: true }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type SignInThrottle = typeof signInThrottles.$inferSelect;

/** Console sessions: the browser's token names one; it ends at its maximum age, when idle too long, or at sign-out. */
export const consoleSessions = pgTable(
  "console_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    client: text("client"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    endReason: text("end_reason"),
  },
  (t) => [index("console_sessions_user_idx").on(t.userId)],
);

export type ConsoleSession = typeof consoleSessions.$inferSelect;
