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
import { guardedAction } from "@/lib/server/handlers";
import { deploymentDeps } from "@/lib/server/runtime";

// Coarse role lists here; the gate registry (lib/gates) decides the rest inside each function.
const AUTHORS = ["engineer", "release_manager"] as const;
const REVIEWERS = ["release_manager", "compliance_officer"] as const;

function done<T extends { id: string }>(row: T): { id: string } {
  revalidatePath("/deployments");
  revalidatePath(`/deployments/${row.id}`);
  return { id: row.id };
}

/** `existing`: the environment already had this deployment open; the answer is that one. */
export const createDeploymentAction = guardedAction({ roles: AUTHORS, input: newDeploymentInput }, async (input, { actor }) => {
  const opened = await createDeployment(deploymentDeps(), actor, input);
  return { ...done(opened), number: opened.number, existing: opened.existing };
});

export const approveDeploymentAction = guardedAction({ roles: ["release_manager"], input: approveInput }, async (input, { actor }) =>
  done(await approveDeployment(deploymentDeps(), actor, input)),
);

export const signoffDeploymentAction = guardedAction({ roles: ["compliance_officer"], input: approveInput }, async (input, { actor }) =>
  done(await signoffDeployment(deploymentDeps(), actor, input)),
);

export const rejectDeploymentAction = guardedAction({ roles: REVIEWERS, input: rejectInput }, async (input, { actor }) =>
  done(await rejectDeployment(deploymentDeps(), actor, input)),
);

export const cancelDeploymentAction = guardedAction({ roles: AUTHORS, input: cancelInput }, async (input, { actor }) =>
  done(await cancelDeployment(deploymentDeps(), actor, input)),
);

export const applyDeploymentAction = guardedAction({ roles: AUTHORS, input: deploymentIdInput }, async (input, { actor }) =>
  done(await enqueueDeployment(deploymentDeps(), actor, input)),
);

export const replanDeploymentAction = guardedAction({ roles: AUTHORS, input: deploymentIdInput }, async (input, { actor }) =>
  done(await replanDeployment(deploymentDeps(), actor, input)),
);

export const rollbackDeploymentAction = guardedAction({ roles: AUTHORS, input: deploymentIdInput }, async (input, { actor }) => {
  const opened = await createRollbackDeployment(deploymentDeps(), actor, input);
  return { ...done(opened), number: opened.number, existing: opened.existing };
});
