/**
 * The one server-side check every action, route handler and page goes through: who is calling
 * (re-read from the store on every call, so a changed role or a deactivation takes effect at once)
 * and whether their role may do this.
 */
import { AppError } from "../errors";
import type { StoreExecutor } from "../store/db";
import { can, missingPermissionMessage, type Permission } from "./permissions";
import { ROLE_LABELS, type Role } from "./roles";
import { findUserById, type Actor } from "./users";

export async function resolveActor(db: StoreExecutor, sessionUserId: string | null | undefined): Promise<Actor> {
  if (!sessionUserId) throw new AppError("unauthenticated", "Sign in to continue.");
  const user = await findUserById(db, sessionUserId);
  if (!user) throw new AppError("unauthenticated", "Your account no longer exists. Sign in again.");
  if (!user.isActive) throw new AppError("forbidden", "Your account is deactivated. Ask an admin to reactivate it.");
  return { id: user.id, email: user.email, name: user.name, role: user.role };
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
