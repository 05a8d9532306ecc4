import "server-only";
import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { assertRole, resolveActor } from "../auth/guard";
import type { Role } from "../auth/roles";
import type { Actor } from "../auth/users";
import { AppError } from "../errors";
import { runtime } from "./runtime";

/** The caller of this request, resolved from the session and the store; throws 401/403 AppErrors. */
export async function requireActor(roles?: readonly Role[]): Promise<Actor> {
  const { store, authOptions } = runtime();
  const session = await getServerSession(authOptions);
  const actor = await resolveActor(store.db, session?.userId);
  if (roles) assertRole(actor, roles);
  return actor;
}

/** For pages: a signed-out visitor goes to sign-in; a wrong role gets the error to render. */
export async function pageActor(roles?: readonly Role[]): Promise<{ actor: Actor; forbidden: AppError | null }> {
  let actor: Actor;
  try {
    actor = await requireActor();
  } catch (e) {
    if (e instanceof AppError && e.code === "unauthenticated") redirect("/signin");
    throw e;
  }
  try {
    if (roles) assertRole(actor, roles);
    return { actor, forbidden: null };
  } catch (e) {
    if (e instanceof AppError) return { actor, forbidden: e };
    throw e;
  }
}
