"use client";

import { useQuery } from "@tanstack/react-query";
import type { BackfillView } from "@/lib/deployments/backfill-control";
import type { Result } from "@/lib/errors";
import { deploymentKeys } from "./deployment-log";

export const backfillKeys = {
  progress: (id: string) => [...deploymentKeys.all, id, "backfill"] as const,
};

const LIVE_STATES = new Set(["queued", "running"]);

async function fetchBackfillProgress(id: string, signal: AbortSignal): Promise<BackfillView> {
  const res = await fetch(`/api/deployments/${id}/backfill`, { cache: "no-store", signal });
  const body = (await res.json()) as Result<BackfillView>;
  if (!body.ok) throw new Error(body.error.message);
  return body.data;
}

/** Polls about every second while the backfill deployment is queued or running (paused included); stops once it ended. */
export function useBackfillProgressQuery(id: string, initial: BackfillView) {
  return useQuery({
    queryKey: backfillKeys.progress(id),
    queryFn: ({ signal }) => fetchBackfillProgress(id, signal),
    initialData: initial,
    refetchInterval: (query) => (LIVE_STATES.has(query.state.data?.deploymentState ?? initial.deploymentState) ? 1000 : false),
  });
}
