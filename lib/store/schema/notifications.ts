import { index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";

/**
 * The notification outbox: one row per event, written in the transaction of the change it reports
 * (lib/notifications `notify`), fanned out to the registry's channels by the worker.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    event: text("event").notNull(),
    /** What every channel receives; never a URL, password or other secret. */
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    dispatchedAt: timestamp("dispatched_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("notifications_undispatched_idx").on(t.createdAt).where(sql`dispatched_at is null`)],
);

/** One notification to one channel of the registry, with the result of its attempts. */
export const notificationDeliveries = pgTable(
  "notification_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    notificationId: uuid("notification_id")
      .notNull()
      .references(() => notifications.id),
    /** Position of the channel in the registry's `notifications` list. */
    channel: integer("channel").notNull(),
    /** The variable the URL is read from (the URL itself is a secret and is never stored). */
    urlEnv: text("url_env").notNull(),
    format: text("format").notNull(),
    /** "pending", "delivered" or "failed" (retries exhausted). */
    state: text("state").notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (t) => [unique("notification_deliveries_once").on(t.notificationId, t.channel), index("notification_deliveries_created_idx").on(t.createdAt)],
);

export type Notification = typeof notifications.$inferSelect;
export type NotificationDelivery = typeof notificationDeliveries.$inferSelect;
