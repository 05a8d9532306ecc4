import { z } from "zod";
import { guardedRoute } from "@/app/_server/handlers";
import { runtime } from "@/app/_server/runtime";
import { environmentsOverview } from "@/lib/targets/overview";

export const dynamic = "force-dynamic";

/** Every environment's recorded state, for the Overview's live refresh. Reads the store only. */
export const GET = guardedRoute({ permission: "overview:read", input: z.object({}) }, async (_input, { actor, store }) =>
  environmentsOverview(store.db, runtime().config.registry, actor),
);
