"use client";

import { useQuery } from "@tanstack/react-query";
import type { Result } from "@/lib/errors";
import type { ComplianceBoard } from "@/lib/verify/board";

export const complianceKeys = {
  all: ["compliance"] as const,
  board: () => ["compliance", "board"] as const,
};

async function fetchBoard(): Promise<ComplianceBoard> {
  const res = await fetch("/api/compliance/board", { cache: "no-store" });
  const body = (await res.json()) as Result<ComplianceBoard>;
  if (!body.ok) throw new Error(body.error.message);
  return body.data;
}

/** A live board: scheduled runs land every few minutes, so it refreshes every 10 seconds. */
export function useComplianceBoardQuery(initialData: ComplianceBoard) {
  return useQuery({ queryKey: complianceKeys.board(), queryFn: fetchBoard, initialData, refetchInterval: 10_000 });
}
