import "server-only";
import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { cache } from "react";
import { assertPermission, sessionActor } from "../../lib/auth/guard";
import { needsSession, type Permission } from "../../lib/auth/permissions";
import type { Actor } from "../../lib/auth/users";
import { AppError } from "../../lib/errors";
import { runtime } from "./runtime";

/**
 * The caller of this request, resolved from the session and the store: the console session must be
 * live (not expired, not idle too long, not signed out) and its user active. Throws 401/403 AppErrors.
 */
export async function requireActor(permission?: Permission): Promise<Actor> {
  const { store, authOptions, config } = runtime();
  const session = await getServerSession(authOptions);
  if (!session?.userId) throw new AppError("unauthenticated", "Sign in to continue.");
  const actor = await sessionActor(store.db, { sessionId: session.sessionId, userId: session.userId }, config.sessions);
  if (permission) assertPermission(actor, permission);
  return actor;
}

/** The signed-in caller, or null when there is none (or their session ended). */
export async function currentActor(): Promise<Actor | null> {
  try {
    return await requireActor();
  } catch (e) {
    if (e instanceof AppError && e.code === "unauthenticated") return null;
    throw e;
  }
}

/** The caller when the permission needs one; null for what anyone may do (liveness). */
export async function callerFor(permission: Permission): Promise<Actor | null> {
  return needsSession(permission) ? requireActor(permission) : null;
}

/**
 * The caller once per page render: the layout and the page both ask, and React's request cache
 * lets them share one store read. Actions and route handlers call requireActor, read on every call.
 */
const renderActor = cache(() => requireActor());

/** For pages: a signed-out visitor goes to sign-in; a wrong role gets the error to render. */
export async function pageActor(permission?: Permission): Promise<{ actor: Actor; forbidden: AppError | null }> {
  let actor: Actor;
  try {
    actor = await renderActor();
  } catch (e) {
    // A session that ended (idle, maximum age) says so on the sign-in page.
    if (e instanceof AppError && e.code === "unauthenticated") redirect(e.message.startsWith("Your session") ? "/signin?error=SessionEnded" : "/signin");
    throw e;
  }
  try {
    if (permission) assertPermission(actor, permission);
    return { actor, forbidden: null };
  } catch (e) {
    if (e instanceof AppError) return { actor, forbidden: e };
    throw e;
  }
}
