"use server";

import { revalidatePath } from "next/cache";
import {
  approveDeployment,
  approveInput,
  cancelDeployment,
  cancelInput,
  createDeployment,
  createRollbackDeployment,
  deploymentIdInput,
  enqueueDeployment,
  newDeploymentInput,
  rejectDeployment,
  rejectInput,
  replanDeployment,
  signoffDeployment,
} from "@/lib/deployments/service";
import { backfillControlInput, cancelBackfill, pauseBackfill, resumeBackfill, type BackfillView } from "@/lib/deployments/backfill-control";
import { guardedAction } from "@/app/_server/handlers";
import { deploymentDeps } from "@/app/_server/runtime";

// Who may call each is the permission map's (lib/auth/permissions); the gate registry (lib/gates)
// decides the rest inside each function.
function done<T extends { id: string }>(row: T): { id: string } {
  revalidatePath("/deployments");
  revalidatePath(`/deployments/${row.id}`);
  return { id: row.id };
}

/** `existing`: the environment already had this deployment open; the answer is that one. */
export const createDeploymentAction = guardedAction({ permission: "deployment:create", input: newDeploymentInput }, async (input, { actor }) => {
  const opened = await createDeployment(deploymentDeps(), actor, input);
  return { ...done(opened), number: opened.number, existing: opened.existing };
});

export const approveDeploymentAction = guardedAction({ permission: "deployment:approve", input: approveInput }, async (input, { actor }) =>
  done(await approveDeployment(deploymentDeps(), actor, input)),
);

export const signoffDeploymentAction = guardedAction({ permission: "deployment:signoff", input: approveInput }, async (input, { actor }) =>
  done(await signoffDeployment(deploymentDeps(), actor, input)),
);

export const rejectDeploymentAction = guardedAction({ permission: "deployment:reject", input: rejectInput }, async (input, { actor }) =>
  done(await rejectDeployment(deploymentDeps(), actor, input)),
);

export const cancelDeploymentAction = guardedAction({ permission: "deployment:cancel", input: cancelInput }, async (input, { actor }) =>
  done(await cancelDeployment(deploymentDeps(), actor, input)),
);

export const applyDeploymentAction = guardedAction({ permission: "deployment:apply", input: deploymentIdInput }, async (input, { actor }) =>
  done(await enqueueDeployment(deploymentDeps(), actor, input)),
);

export const replanDeploymentAction = guardedAction({ permission: "deployment:replan", input: deploymentIdInput }, async (input, { actor }) =>
  done(await replanDeployment(deploymentDeps(), actor, input)),
);

export const rollbackDeploymentAction = guardedAction({ permission: "deployment:rollback", input: deploymentIdInput }, async (input, { actor }) => {
  const opened = await createRollbackDeployment(deploymentDeps(), actor, input);
  return { ...done(opened), number: opened.number, existing: opened.existing };
});

// Backfills: the permission map says who may; the backfill gates (lib/gates/backfill) decide the rest.
function backfillDone(view: BackfillView): BackfillView {
  revalidatePath(`/deployments/${view.deploymentId}`);
  return view;
}

export const pauseBackfillAction = guardedAction({ permission: "backfill:pause", input: backfillControlInput }, async (input, { actor }) => backfillDone(await pauseBackfill(deploymentDeps(), actor, input)));

export const resumeBackfillAction = guardedAction({ permission: "backfill:resume", input: backfillControlInput }, async (input, { actor }) => backfillDone(await resumeBackfill(deploymentDeps(), actor, input)));

export const cancelBackfillAction = guardedAction({ permission: "backfill:cancel", input: backfillControlInput }, async (input, { actor }) => backfillDone(await cancelBackfill(deploymentDeps(), actor, input)));
