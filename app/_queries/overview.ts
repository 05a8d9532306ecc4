"use client";

import { useQuery } from "@tanstack/react-query";
import type { Result } from "@/lib/errors";
import type { OverviewEnvironment } from "@/lib/targets/overview";

export const overviewKeys = {
  all: ["overview"] as const,
};

async function fetchOverview(signal: AbortSignal): Promise<OverviewEnvironment[]> {
  const res = await fetch("/api/overview", { cache: "no-store", signal });
  const body = (await res.json()) as Result<OverviewEnvironment[]>;
  if (!body.ok) throw new Error(body.error.message);
  return body.data;
}

/** Every second while a deployment is queued or running anywhere, every 10 s otherwise: the Overview is a dashboard left open. */
export function useOverviewQuery(initialData: OverviewEnvironment[]) {
  return useQuery({
    queryKey: overviewKeys.all,
    queryFn: ({ signal }) => fetchOverview(signal),
    initialData,
    refetchInterval: (query) => ((query.state.data ?? []).some((e) => e.running) ? 1000 : 10_000),
  });
}
