import { z } from "zod";
import { storeAnswers } from "@/lib/store/health";
import { guardedRoute } from "@/app/_server/handlers";

export const dynamic = "force-dynamic";

/** Liveness for the start script and load balancers: whether the store is reachable, nothing more. */
export const GET = guardedRoute({ permission: "console:health", input: z.object({}) }, async (_input, { store }) => storeAnswers(store));
