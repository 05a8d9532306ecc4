import { z } from "zod";
import { guardedRoute } from "@/app/_server/handlers";
import { runtime } from "@/app/_server/runtime";
import { complianceBoard } from "@/lib/verify/board";

export const dynamic = "force-dynamic";

/** The board's data, polled by the compliance page. */
export const GET = guardedRoute({ permission: "compliance:read", input: z.object({}) }, async (_input, { store }) => complianceBoard(store, runtime().config.registry));
