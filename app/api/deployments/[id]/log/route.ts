import { z } from "zod";
import { runLog } from "@/lib/deployments/service";
import { guardedRoute } from "@/app/_server/handlers";

export const dynamic = "force-dynamic";

/** The live run log the deployment page polls: by the id or the number users see; an unknown one answers 404. */
export const GET = guardedRoute({ permission: "deployment:read", input: z.object({ id: z.string().trim().min(1).max(100) }) }, async (input, { store }) => runLog(store.db, input.id));
