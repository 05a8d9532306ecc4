"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { guardedAction } from "@/app/_server/handlers";
import { deploymentDeps } from "@/app/_server/runtime";
import { verifyEnvironment } from "@/lib/verify/snapshots";

/** Runs the checks on one environment now. Reading a target changes nothing, so any signed-in user may. */
export const runVerificationAction = guardedAction({ permission: "verify:run", input: z.object({ environment: z.string().min(1) }) }, async (input, { actor }) => {
  const snapshot = await verifyEnvironment(deploymentDeps(), input.environment, "manual", { actor });
  revalidatePath("/compliance");
  return { id: snapshot.id, outcome: snapshot.outcome };
});
