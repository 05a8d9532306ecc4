"use server";

import { revalidatePath } from "next/cache";
import { activeChangeInput, changeUserRole, createUser, newUserInput, roleChangeInput, setUserActive } from "@/lib/auth/users";
import { guardedAction } from "@/lib/server/handlers";

const ADMIN = ["admin"] as const;

export const createUserAction = guardedAction({ roles: ADMIN, input: newUserInput }, async (input, { actor, store }) => {
  const user = await createUser(store.db, actor, input);
  revalidatePath("/admin");
  return user;
});

export const changeRoleAction = guardedAction({ roles: ADMIN, input: roleChangeInput }, async (input, { actor, store }) => {
  const user = await changeUserRole(store.db, actor, input);
  revalidatePath("/admin");
  return user;
});

export const setActiveAction = guardedAction({ roles: ADMIN, input: activeChangeInput }, async (input, { actor, store }) => {
  const user = await setUserActive(store.db, actor, input);
  revalidatePath("/admin");
  return user;
});
