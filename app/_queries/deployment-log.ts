"use client";

import { useQuery } from "@tanstack/react-query";
import type { RunLog } from "@/lib/deployments/service";
import type { Result } from "@/lib/errors";
import { isActiveState, type DeploymentState } from "@/lib/store/schema/deployment-states";

/** Query keys for deployments, in one place so invalidation hits exactly what depends on a change. */
export const deploymentKeys = {
  all: ["deployments"] as const,
  log: (id: string) => ["deployments", id, "log"] as const,
};

/** JSON-serialised RunLog (dates arrive as strings). */
export type RunLogData = Omit<RunLog, "events" | "run"> & {
  run: (Omit<NonNullable<RunLog["run"]>, "startedAt" | "finishedAt"> & { startedAt: string; finishedAt: string | null }) | null;
  events: (Omit<RunLog["events"][number], "at"> & { at: string })[];
};


async function fetchRunLog(id: string): Promise<RunLogData> {
  const res = await fetch(`/api/deployments/${id}/log`, { cache: "no-store" });
  const body = (await res.json()) as Result<RunLogData>;
  if (!body.ok) throw new Error(body.error.message);
  return body.data;
}

/** How long after a run succeeded the page keeps asking for the verification that follows it (ms). */
const VERIFICATION_WAIT_MS = 60_000;

/**
 * The worker verifies the environment right after a run succeeds and records the outcome on the
 * deployment a moment later: until then (within a bound, should verification never come) the page
 * keeps following, so "applied, verification failed" shows without a reload.
 */
export function awaitsVerification(data: RunLogData | undefined, now = Date.now()): boolean {
  if (!data || data.state !== "succeeded" || data.verification !== null || !data.run?.finishedAt) return false;
  return now - Date.parse(data.run.finishedAt) < VERIFICATION_WAIT_MS;
}

/** Polls about every second while the deployment is queued or running, or waits for its verification; stops otherwise. */
export function useRunLogQuery(id: string, initialState: string) {
  return useQuery({
    queryKey: deploymentKeys.log(id),
    queryFn: () => fetchRunLog(id),
    refetchInterval: (query) => (isActiveState((query.state.data?.state ?? initialState) as DeploymentState) || awaitsVerification(query.state.data) ? 1000 : false),
  });
}
