import { z } from "zod";
import { createUser, listUsers, newUserInput } from "@/lib/auth/users";
import { guardedRoute } from "@/app/_server/handlers";

export const dynamic = "force-dynamic";

export const GET = guardedRoute({ permission: "admin:users", input: z.object({}) }, async (_input, { store }) => listUsers(store.db));

export const POST = guardedRoute({ permission: "admin:users", input: newUserInput }, async (input, { actor, store }) =>
  createUser(store.db, actor, input),
);
