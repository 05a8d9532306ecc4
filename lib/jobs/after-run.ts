/** What follows a finished deployment run on the worker, for apply, rollback and backfill runs alike. */
import { redactedMessage } from "../errors";

export interface AfterApply {
  (deploymentId: string, environment: string): Promise<void>;
}

/**
 * The verification that follows a finished run. The run's outcome is already recorded, so a failure
 * here (the store went away meanwhile) changes nothing about it: it is logged, not thrown, and the
 * next scheduled verification records the environment's state instead.
 */
export async function afterRun(afterApply: AfterApply | undefined, deploymentId: string, environment: string): Promise<void> {
  if (!afterApply) return;
  try {
    await afterApply(deploymentId, environment);
  } catch (e) {
    console.error(`[migration-console] the verification of ${environment} after deployment ${deploymentId} could not be recorded: ${redactedMessage(e)}`);
  }
}
