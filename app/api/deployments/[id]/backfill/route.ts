import { z } from "zod";
import { backfillView } from "@/lib/deployments/backfill-control";
import { guardedRoute } from "@/app/_server/handlers";

export const dynamic = "force-dynamic";

/** A backfill deployment's live progress, polled by its page. Any signed-in user may read it; the path's id is the input. */
export const GET = guardedRoute({ permission: "deployment:read", input: z.object({ id: z.uuid() }) }, async (input, { store, actor }) => backfillView(store.db, actor, input.id));
