/**
 * The deployment page follows its run log while the run is active, and a little longer after it
 * succeeded: the worker verifies the environment right after and records the outcome a moment later,
 * and without following it the page would stay at "Succeeded" instead of "applied, verification
 * failed" until reloaded (the e2e backfill journey hit exactly that race).
 */
import { describe, expect, it } from "vitest";
import { awaitsVerification, type RunLogData } from "../../app/_queries/deployment-log";

const finishedAt = "2026-12-01T12:00:00.000Z";
const at = (seconds: number) => Date.parse(finishedAt) + seconds * 1000;
const log = (state: string, verification: string | null, finished: string | null = finishedAt) =>
  ({ state, verification, run: { finishedAt: finished }, events: [] }) as unknown as RunLogData;

describe("following a succeeded run until its verification is recorded", () => {
  it("keeps following right after success while no verification outcome is recorded", () => {
    expect(awaitsVerification(log("succeeded", null), at(2))).toBe(true);
  });
  it("stops once the outcome is recorded, passed or failed", () => {
    expect(awaitsVerification(log("succeeded", "failed"), at(2))).toBe(false);
    expect(awaitsVerification(log("succeeded", "passed"), at(2))).toBe(false);
  });
  it("gives up after a minute, should verification never come", () => {
    expect(awaitsVerification(log("succeeded", null), at(61))).toBe(false);
  });
  it("does not apply to failed runs or runs without an end", () => {
    expect(awaitsVerification(log("failed", null), at(2))).toBe(false);
    expect(awaitsVerification(log("succeeded", null, null), at(2))).toBe(false);
    expect(awaitsVerification(undefined, at(2))).toBe(false);
  });
});
