"use server";

import { revalidatePath } from "next/cache";
import { backfillControlInput, cancelBackfill, pauseBackfill, resumeBackfill, type BackfillView } from "@/lib/backfills/control";
import { guardedAction } from "@/lib/server/handlers";
import { deploymentDeps } from "@/lib/server/runtime";

// The backfill gates (lib/gates/backfill) decide the rest inside each function.
const RELEASE = ["release_manager"] as const;

function done(view: BackfillView): BackfillView {
  revalidatePath(`/deployments/${view.deploymentId}`);
  return view;
}

export const pauseBackfillAction = guardedAction({ roles: RELEASE, input: backfillControlInput }, async (input, { actor }) => done(await pauseBackfill(deploymentDeps(), actor, input)));

export const resumeBackfillAction = guardedAction({ roles: RELEASE, input: backfillControlInput }, async (input, { actor }) => done(await resumeBackfill(deploymentDeps(), actor, input)));

export const cancelBackfillAction = guardedAction({ roles: RELEASE, input: backfillControlInput }, async (input, { actor }) => done(await cancelBackfill(deploymentDeps(), actor, input)));
