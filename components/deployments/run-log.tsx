"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef } from "react";
import type { RunEvent } from "@/lib/executor";
import { useRunLogQuery, type RunLogData } from "@/lib/queries/deployment-log";
import { describeBackfillEvent } from "./backfill-progress";

function describe(row: RunLogData["events"][number]): string {
  if (row.type.startsWith("backfill_")) return describeBackfillEvent(row.type, row.payload);
  const e = { type: row.type, ...row.payload } as RunEvent;
  switch (e.type) {
    case "run_started":
      return `Run started: ${e.migrations.length} migration(s), ${e.statements} statement(s)`;
    case "migration_started":
      return `Migration ${e.n} of ${e.of}: ${e.tag}${e.transactional ? "" : " (outside a transaction)"}`;
    case "statement_finished":
      return `  ${e.tag} statement ${e.statement} of ${e.of}: ${e.summary} (${e.durationMs} ms)`;
    case "retry":
      return `  Lock wait too long on ${e.tag} statement ${e.statement}; retry ${e.attempt} of ${e.maxRetries} in ${e.delayMs} ms`;
    case "invalid_index_dropped":
      return `  Dropped invalid index ${e.index}: ${e.reason}`;
    case "checksum_accepted":
      return `  Accepted the edited checksum of ${e.tag}`;
    case "migration_finished":
      return `Finished ${e.tag} in ${e.durationMs} ms`;
    case "run_finished":
      return `Run finished in ${e.durationMs} ms`;
    case "run_failed":
      return `Run failed: ${e.error.message}${e.error.leftBehind ? ` ${e.error.leftBehind}` : ""}${(e.error as { hint?: string }).hint ? ` ${(e.error as { hint?: string }).hint}` : ""}`;
  }
}

export function RunLog({ deploymentId, initialState }: { deploymentId: string; initialState: string }) {
  const router = useRouter();
  const { data, error } = useRunLogQuery(deploymentId, initialState);
  const lastState = useRef(initialState);

  // When the run reaches another state, the rest of the page (buttons, badges) must follow.
  useEffect(() => {
    if (data && data.state !== lastState.current) {
      lastState.current = data.state;
      router.refresh();
    }
  }, [data, router]);

  if (error) return <p role="alert" className="text-sm text-red-800">The run log cannot be loaded: {error.message}</p>;
  if (!data) return <p className="text-sm text-slate-500">Loading the run log…</p>;
  if (!data.run) return <p className="text-sm text-slate-600">Not started yet.</p>;

  const progress = [...data.events].reverse().find((e) => e.type === "statement_finished")?.payload as { done: number } | undefined;
  const total = (data.events.find((e) => e.type === "run_started")?.payload as { statements: number } | undefined)?.statements;
  return (
    <div>
      <div className="mb-2 flex items-center gap-3 text-sm">
        <span data-testid="run-state" className="font-medium">
          Run {data.run.state}
        </span>
        {total !== undefined && (
          <span data-testid="run-progress" className="text-slate-600">
            {progress?.done ?? 0} of {total} statements
          </span>
        )}
      </div>
      {total !== undefined && total > 0 && (
        <div className="mb-3 h-2 w-full overflow-hidden rounded bg-slate-200" role="progressbar" aria-valuenow={progress?.done ?? 0} aria-valuemax={total}>
          <div className="h-full bg-emerald-500 transition-all" style={{ width: `${Math.round(((progress?.done ?? 0) / total) * 100)}%` }} />
        </div>
      )}
      <ol aria-label="Run log" className="max-h-96 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-relaxed text-slate-100">
        {data.events.map((e) => (
          <li key={e.id} className={e.type === "run_failed" ? "text-red-300" : e.type === "retry" ? "text-amber-300" : undefined}>
            <span className="text-slate-500">{new Date(e.at).toLocaleTimeString("en-GB")}</span> {describe(e)}
          </li>
        ))}
      </ol>
    </div>
  );
}
