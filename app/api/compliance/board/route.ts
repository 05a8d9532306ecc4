import { z } from "zod";
import { guardedRoute } from "@/lib/server/handlers";
import { runtime } from "@/lib/server/runtime";
import { complianceBoard } from "@/lib/verify/board";

export const dynamic = "force-dynamic";

/** The board's data, polled by the compliance page. Any signed-in user may read it. */
export const GET = guardedRoute({ roles: "signed-in", input: z.object({}) }, async (_input, { store }) => complianceBoard(store, runtime().config.registry));
