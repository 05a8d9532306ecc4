/**
 * A deployment's states and their groups, defined once: open = under review, active = handed to
 * a worker, terminal = nothing changes any more. lib/deployments/lifecycle (the only writer) and
 * every reader (gates, pages, CLI, the browser's polling) use these; the partial unique indexes in
 * deployments.ts spell the same groups in SQL, and tests/deployments/review-rules.test.ts keeps the
 * two in step. No imports: the browser bundle reads this file too.
 */
export const DEPLOYMENT_STATES = ["awaiting_approval", "approved", "queued", "running", "succeeded", "failed", "rejected", "cancelled"] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

export const DEPLOYMENT_STATE_GROUPS = {
  open: ["awaiting_approval", "approved"],
  active: ["queued", "running"],
  terminal: ["succeeded", "failed", "rejected", "cancelled"],
} as const satisfies Record<string, readonly DeploymentState[]>;

export type DeploymentStateGroup = keyof typeof DEPLOYMENT_STATE_GROUPS;

export function stateGroup(state: DeploymentState): DeploymentStateGroup {
  return (Object.keys(DEPLOYMENT_STATE_GROUPS) as DeploymentStateGroup[]).find((g) => (DEPLOYMENT_STATE_GROUPS[g] as readonly string[]).includes(state))!;
}

export const isOpenState = (state: DeploymentState) => stateGroup(state) === "open";
export const isActiveState = (state: DeploymentState) => stateGroup(state) === "active";
export const isTerminalState = (state: DeploymentState) => stateGroup(state) === "terminal";
/** States a run exists in (its log is worth showing). */
export const hasRunState = (state: DeploymentState) => isActiveState(state) || state === "succeeded" || state === "failed";
