/**
 * Batch size steered toward a target batch duration: the cost per row is smoothed over batches
 * (exponential moving average), the size that would take the target at that cost is the goal, and
 * one step moves at most ×2 or ÷2 toward it, within the declared bounds. A slow batch (a lock, a
 * busy disk) shrinks the next ones quickly; a fast table grows them until batches take the target.
 */
import type { BatchTuning } from "./definition";

export interface TunerState {
  size: number;
  /** Smoothed milliseconds per row; null before the first batch. */
  msPerRow: number | null;
}

/** Weight of the newest batch in the moving average. */
const SMOOTHING = 0.5;
const MAX_STEP = 2;

export function tuneBatchSize(tuning: Pick<BatchTuning, "targetMs" | "minSize" | "maxSize">, state: TunerState, observed: { rows: number; ms: number }): TunerState {
  if (observed.rows <= 0) return state;
  const perRow = Math.max(observed.ms, 0.01) / observed.rows;
  const msPerRow = state.msPerRow === null ? perRow : SMOOTHING * perRow + (1 - SMOOTHING) * state.msPerRow;
  const ideal = tuning.targetMs / msPerRow;
  const stepped = Math.min(state.size * MAX_STEP, Math.max(state.size / MAX_STEP, ideal));
  const size = Math.round(Math.min(tuning.maxSize, Math.max(tuning.minSize, stepped)));
  return { size, msPerRow };
}

/** After a batch hit its lock or statement timeout: half the size, never below the minimum. */
export const shrinkAfterTimeout = (tuning: Pick<BatchTuning, "minSize">, state: TunerState): TunerState => ({ ...state, size: Math.max(tuning.minSize, Math.floor(state.size / 2)) });
