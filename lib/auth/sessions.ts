/**
 * Console sessions, kept in the store so every web server agrees: a session ends at its maximum
 * age (a working day by default), after an idle timeout, or at sign-out. The browser's token only
 * names the session; the guard checks it on every server call.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { SessionPolicy } from "../config/env";
import { AppError } from "../errors";
import type { StoreExecutor } from "../store/db";
import { consoleSessions, users, type User } from "../store/schema";

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
 * The session with its user's row, in one prepared statement: the guard reads this on every
 * request, so it is built and planned once per store client, not per call.
 */
const sessionWithUser = new WeakMap<StoreExecutor, ReturnType<typeof prepareSessionWithUser>>();
function prepareSessionWithUser(db: StoreExecutor) {
  return db
    .select({ session: consoleSessions, user: users })
    .from(consoleSessions)
    .leftJoin(users, eq(users.id, consoleSessions.userId))
    .where(eq(consoleSessions.id, sql.placeholder("id")))
    .limit(1)
    .prepare("console_session_with_user");
}

/**
 * The session and its user (null when the account is gone) when the session is live; throws a 401
 * that says why otherwise. Touches the session's last-seen time, which is what the idle timeout measures.
 */
export async function liveSession(db: StoreExecutor, sessionId: string | null | undefined, policy: SessionPolicy, now = new Date()): Promise<{ userId: string; user: User | null }> {
  if (!sessionId || !z.uuid().safeParse(sessionId).success) throw new AppError("unauthenticated", "Sign in to continue.");
  let query = sessionWithUser.get(db);
  if (!query) sessionWithUser.set(db, (query = prepareSessionWithUser(db)));
  const [found] = await query.execute({ id: sessionId });
  const row = found?.session;
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
  return { userId: row.userId, user: found.user };
}

/** The session's user id when the session is live (liveSession's rules). */
export async function liveSessionUser(db: StoreExecutor, sessionId: string | null | undefined, policy: SessionPolicy, now = new Date()): Promise<string> {
  return (await liveSession(db, sessionId, policy, now)).userId;
}
