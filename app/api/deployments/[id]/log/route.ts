import { z } from "zod";
import { runLog } from "@/lib/deployments/service";
import { guardedRoute } from "@/lib/server/handlers";

export const dynamic = "force-dynamic";

/** The live run log the deployment page polls. */
export const GET = guardedRoute({ permission: "deployment:read", input: z.object({ id: z.uuid() }) }, async (input, { store }) => runLog(store.db, input.id));
