"use server";

import { revalidatePath } from "next/cache";
import { activeChangeInput, changeUserRole, createUser, newUserInput, roleChangeInput, setUserActive } from "@/lib/auth/users";
import { liftSignInLock } from "@/lib/auth/sign-in";
import { guardedAction } from "@/app/_server/handlers";
import { z } from "zod";

export const createUserAction = guardedAction({ permission: "admin:users", input: newUserInput }, async (input, { actor, store }) => {
  const user = await createUser(store.db, actor, input);
  revalidatePath("/admin");
  return user;
});

export const changeRoleAction = guardedAction({ permission: "admin:users", input: roleChangeInput }, async (input, { actor, store }) => {
  const user = await changeUserRole(store.db, actor, input);
  revalidatePath("/admin");
  return user;
});

export const setActiveAction = guardedAction({ permission: "admin:users", input: activeChangeInput }, async (input, { actor, store }) => {
  const user = await setUserActive(store.db, actor, input);
  revalidatePath("/admin");
  return user;
});

export const liftSignInLockAction = guardedAction({ permission: "admin:users", input: z.object({ key: z.string().min(1).max(400) }) }, async (input, { actor, store }) => {
  await liftSignInLock(store.db, actor, input.key);
  revalidatePath("/admin");
  return { key: input.key };
});
