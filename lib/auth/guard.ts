/**
 * The one server-side check every action, route handler and page goes through: who is calling
 * (re-read from the store on every call, so a changed role or a deactivation takes effect at once)
 * and whether their role may do this.
 */
import { AppError } from "../errors";
import type { SessionPolicy } from "../config/env";
import type { StoreExecutor } from "../store/db";
import type { User } from "../store/schema";
import { can, missingPermissionMessage, type Permission } from "./permissions";
import { ROLE_LABELS, type Role } from "./roles";
import { liveSession } from "./sessions";
import { findUserById, type Actor } from "./users";

export async function resolveActor(db: StoreExecutor, sessionUserId: string | null | undefined): Promise<Actor> {
  if (!sessionUserId) throw new AppError("unauthenticated", "Sign in to continue.");
  return activeActor(await findUserById(db, sessionUserId));
}

/** The caller's account as it is now: it must exist and be active. */
function activeActor(user: User | null | undefined): Actor {
  if (!user) throw new AppError("unauthenticated", "Your account no longer exists. Sign in again.");
  if (!user.isActive) throw new AppError("forbidden", "Your account is deactivated. Ask an admin to reactivate it.");
  return { id: user.id, email: user.email, name: user.name, role: user.role };
}

/**
 * The caller named by a session token, in one store read: the console session is live, it is the
 * token's user's, and that account is active. Throws 401/403 AppErrors.
 */
export async function sessionActor(db: StoreExecutor, token: { sessionId: string | null | undefined; userId: string }, policy: SessionPolicy): Promise<Actor> {
  const session = await liveSession(db, token.sessionId, policy);
  if (session.userId !== token.userId) throw new AppError("unauthenticated", "Sign in again.");
  return activeActor(session.user);
}

export function hasRole(actor: Pick<Actor, "role">, allowed: readonly Role[]): boolean {
  return allowed.includes(actor.role);
}

/** Throws a 403 that names the role(s) the caller lacks. */
export function assertRole(actor: Pick<Actor, "role">, allowed: readonly Role[]): void {
  if (hasRole(actor, allowed)) return;
  const needed = allowed.map((r) => ROLE_LABELS[r]).join(" or ");
  throw new AppError("forbidden", `This needs the ${needed} role; you are signed in as ${ROLE_LABELS[actor.role]}.`);
}

/** Throws a 403 unless the permission map lets the caller's role do this. */
export function assertPermission(actor: Pick<Actor, "role">, permission: Permission): void {
  if (!can(actor.role, permission)) throw new AppError("forbidden", missingPermissionMessage(actor.role, permission));
}
