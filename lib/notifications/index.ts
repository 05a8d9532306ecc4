/**
 * Notifications: the lifecycle, verification and drift detection call `notify` inside the
 * transaction of the change they report, which writes one outbox row; the worker fans each row out
 * to the registry's channels that want the event and delivers every one through the job queue,
 * with retries. A channel's URL is read from its environment variable at delivery time and is never
 * stored, logged or sent in a payload.
 */
import { and, desc, eq, isNull, lt, sql as rawSql } from "drizzle-orm";
import type { EnvironmentRegistry, NotificationChannel, NotificationEventType } from "../config/environments";
import type { StoreDb, StoreExecutor } from "../store/db";
import { notificationDeliveries, notifications, type Notification } from "../store/schema";

export { NOTIFICATION_EVENTS, type NotificationEventType } from "../config/environments";

export interface NotificationEvent {
  type: NotificationEventType;
  environment: string;
  /** One sentence a person reads in the channel. */
  summary: string;
  deployment?: { id: string; number: number } | null;
  /** Small, non-secret facts (counts, object names, outcome). */
  details?: Record<string, unknown>;
}

/** Attempts per delivery (the first and its retries) before it is recorded as failed. */
export const DELIVERY_ATTEMPTS = 5;

const TITLES: Record<NotificationEventType, string> = {
  approval_needed: "Approval needed",
  signoff_needed: "Compliance sign-off needed",
  deployment_succeeded: "Deployment succeeded",
  deployment_failed: "Deployment failed",
  verification_red: "Verification turned red",
  drift_found: "Drift found",
};

/** Anything that looks like a connection string or URL with credentials is cut, whatever passed it in. */
const SECRET_PATTERN = /\b(postgres(ql)?|https?):\/\/\S+/gi;
function scrub<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_k, v) => (typeof v === "string" ? v.replace(SECRET_PATTERN, "(url)") : v)) as T;
}

/** Records the event in the caller's transaction: it is delivered only if that transaction commits. */
export async function notify(tx: StoreExecutor, event: NotificationEvent): Promise<void> {
  const payload = scrub({
    event: event.type,
    title: TITLES[event.type],
    environment: event.environment,
    summary: event.summary,
    deployment: event.deployment ? { id: event.deployment.id, number: event.deployment.number, path: `/deployments/${event.deployment.id}` } : null,
    details: event.details ?? {},
  });
  await tx.insert(notifications).values({ event: event.type, payload });
}

/** The body one channel receives. */
export function renderPayload(format: NotificationChannel["format"], n: Pick<Notification, "id" | "payload" | "createdAt">): Record<string, unknown> {
  const p = n.payload as { title: string; environment: string; summary: string; deployment: { number: number } | null };
  if (format === "slack") {
    const where = p.deployment ? ` · deployment #${p.deployment.number}` : "";
    return { text: `*${p.title}* · ${p.environment}${where}\n${p.summary}` };
  }
  return { id: n.id, at: n.createdAt.toISOString(), ...n.payload };
}

/**
 * Turns undispatched outbox rows into one delivery per interested channel, in one transaction
 * (SKIP LOCKED: several workers never fan out the same row twice). Returns the deliveries to send.
 */
export async function dispatchNotifications(db: StoreDb, registry: EnvironmentRegistry, limit = 50): Promise<string[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(notifications).where(isNull(notifications.dispatchedAt)).orderBy(notifications.createdAt).limit(limit).for("update", { skipLocked: true });
    const ids: string[] = [];
    for (const n of rows) {
      const channels = registry.notifications.filter((c) => c.events.includes(n.event as NotificationEventType));
      for (const c of channels) {
        const [d] = await tx
          .insert(notificationDeliveries)
          .values({
            notificationId: n.id,
            channel: c.index,
            urlEnv: c.urlEnv,
            format: c.format,
            state: c.url ? "pending" : "failed",
            lastError: c.url ? null : `${c.urlEnv} is not set, so this channel's URL is unknown.`,
          })
          .onConflictDoNothing()
          .returning({ id: notificationDeliveries.id, state: notificationDeliveries.state });
        if (d?.state === "pending") ids.push(d.id);
      }
      await tx.update(notifications).set({ dispatchedAt: new Date() }).where(eq(notifications.id, n.id));
    }
    return ids;
  });
}

/**
 * Pending deliveries nobody touched for a while: a worker died between fanning out and sending the
 * job. Re-sending is safe (a delivered one is never posted again).
 */
export async function staleDeliveries(db: StoreExecutor, olderThanMs = 5 * 60_000): Promise<string[]> {
  const rows = await db
    .select({ id: notificationDeliveries.id })
    .from(notificationDeliveries)
    .where(and(eq(notificationDeliveries.state, "pending"), lt(notificationDeliveries.updatedAt, new Date(Date.now() - olderThanMs))))
    .limit(100);
  return rows.map((r) => r.id);
}

export class DeliveryError extends Error {}

/**
 * One attempt at one delivery. A delivered one is never sent again (so a re-run job cannot post
 * twice); a failed attempt is recorded and thrown, so the queue retries it.
 */
export async function deliverNotification(db: StoreDb, registry: EnvironmentRegistry, deliveryId: string, timeoutMs = 10_000): Promise<"delivered" | "skipped"> {
  const claimed = await db.transaction(async (tx) => {
    const [row] = await tx
      .select({ d: notificationDeliveries, n: notifications })
      .from(notificationDeliveries)
      .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
      .where(eq(notificationDeliveries.id, deliveryId))
      .for("update", { of: notificationDeliveries });
    if (!row || row.d.state !== "pending") return null;
    await tx
      .update(notificationDeliveries)
      .set({ attempts: rawSql`${notificationDeliveries.attempts} + 1`, updatedAt: new Date() })
      .where(eq(notificationDeliveries.id, deliveryId));
    return { ...row, attempt: row.d.attempts + 1 };
  });
  if (!claimed) return "skipped";
  const channel = registry.notifications[claimed.d.channel];
  const url = channel?.urlEnv === claimed.d.urlEnv ? channel.url : null;
  let status: number | null = null;
  let error: string | null = null;
  if (!url) error = `${claimed.d.urlEnv} is not set (or the channel left the registry), so there is nowhere to send it.`;
  else {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "migration-console" },
        body: JSON.stringify(renderPayload(claimed.d.format as NotificationChannel["format"], claimed.n)),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "error",
      });
      status = res.status;
      await res.body?.cancel().catch(() => {});
      if (!res.ok) error = `The receiver answered HTTP ${res.status}.`;
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      error = (e as Error).name === "TimeoutError" ? `No answer within ${timeoutMs / 1000} s.` : `Could not reach the receiver${cause ? ` (${cause})` : ""}.`;
    }
  }
  const final = error !== null && (claimed.attempt >= DELIVERY_ATTEMPTS || !url);
  await db
    .update(notificationDeliveries)
    .set({
      state: error === null ? "delivered" : final ? "failed" : "pending",
      lastStatus: status,
      lastError: error,
      deliveredAt: error === null ? new Date() : null,
      updatedAt: new Date(),
    })
    .where(eq(notificationDeliveries.id, deliveryId));
  if (error !== null && !final) throw new DeliveryError(`Delivery ${deliveryId} attempt ${claimed.attempt}: ${error}`);
  return error === null ? "delivered" : "skipped";
}

/** The admin page's list: newest first, with the event they carried. */
export async function recentDeliveries(db: StoreExecutor, limit = 100) {
  return db
    .select({
      id: notificationDeliveries.id,
      event: notifications.event,
      environment: rawSql<string>`${notifications.payload}->>'environment'`,
      summary: rawSql<string>`${notifications.payload}->>'summary'`,
      urlEnv: notificationDeliveries.urlEnv,
      format: notificationDeliveries.format,
      state: notificationDeliveries.state,
      attempts: notificationDeliveries.attempts,
      lastStatus: notificationDeliveries.lastStatus,
      lastError: notificationDeliveries.lastError,
      createdAt: notificationDeliveries.createdAt,
      deliveredAt: notificationDeliveries.deliveredAt,
    })
    .from(notificationDeliveries)
    .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
    .orderBy(desc(notificationDeliveries.createdAt))
    .limit(limit);
}

/** Outbox rows not yet fanned out (for the admin page: a stuck worker shows here). */
export async function undispatchedCount(db: StoreExecutor): Promise<number> {
  const [row] = await db.select({ n: rawSql<number>`count(*)::int` }).from(notifications).where(and(isNull(notifications.dispatchedAt)));
  return row?.n ?? 0;
}
