/**
 * Console sessions, kept in the store so every web server agrees: a session ends at its maximum
 * age (a working day by default), after an idle timeout, or at sign-out. The browser's token only
 * names the session; the guard checks it on every server call.
 */
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { SessionPolicy } from "../config/env";
import { AppError } from "../errors";
import type { StoreExecutor } from "../store/db";
import { consoleSessions } from "../store/schema";

/** Last-seen is written at most this often (a minute, or a quarter of the idle timeout), not on every request. */
const touchEveryMs = (policy: SessionPolicy) => Math.min(60_000, (policy.idleSeconds * 1000) / 4);

export async function startConsoleSession(db: StoreExecutor, userId: string, policy: SessionPolicy, client: string | null, now = new Date()): Promise<string> {
  const [row] = await db
    .insert(consoleSessions)
    .values({ userId, client, createdAt: now, lastSeenAt: now, expiresAt: new Date(now.getTime() + policy.maxAgeSeconds * 1000) })
    .returning({ id: consoleSessions.id });
  return row!.id;
}

export async function endConsoleSession(db: StoreExecutor, sessionId: string, reason: "signed_out" | "expired" | "idle", now = new Date()): Promise<void> {
  if (!z.uuid().safeParse(sessionId).success) return;
  await db
    .update(consoleSessions)
    .set({ endedAt: now, endReason: reason })
    .where(and(eq(consoleSessions.id, sessionId), isNull(consoleSessions.endedAt)));
}

/**
 * The session's user when the session is live; throws a 401 that says why otherwise. Touches the
 * session's last-seen time, which is what the idle timeout measures.
 */
export async function liveSessionUser(db: StoreExecutor, sessionId: string | null | undefined, policy: SessionPolicy, now = new Date()): Promise<string> {
  if (!sessionId || !z.uuid().safeParse(sessionId).success) throw new AppError("unauthenticated", "Sign in to continue.");
  const [row] = await db.select().from(consoleSessions).where(eq(consoleSessions.id, sessionId)).limit(1);
  if (!row || row.endedAt) throw new AppError("unauthenticated", "Your session has ended. Sign in again.");
  if (now >= row.expiresAt) {
    await endConsoleSession(db, row.id, "expired", now);
    throw new AppError("unauthenticated", `Your session reached its maximum length (${Math.round(policy.maxAgeSeconds / 3600)} h). Sign in again.`);
  }
  if (now.getTime() - row.lastSeenAt.getTime() > policy.idleSeconds * 1000) {
    await endConsoleSession(db, row.id, "idle", now);
    throw new AppError("unauthenticated", `Your session ended after ${Math.round(policy.idleSeconds / 60)} minutes without activity. Sign in again.`);
  }
  if (now.getTime() - row.lastSeenAt.getTime() > touchEveryMs(policy)) {
    await db.update(consoleSessions).set({ lastSeenAt: now }).where(eq(consoleSessions.id, row.id));
  }
  return row.userId;
}
