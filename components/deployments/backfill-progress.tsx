"use client";

import { ProgressBar } from "@/components/ui/progress-bar";
import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, useTransition } from "react";
import type { BackfillView } from "@/lib/deployments/backfill-control";
import type { Result } from "@/lib/errors";
import { formatTime, plural } from "@/lib/format";
import { BACKFILL_ACTIONS, type BackfillAction } from "@/lib/gates/backfill";
import { backfillKeys, useBackfillProgressQuery } from "@/app/_queries/backfill-progress";

type Call = (input: { id: string; reason?: string }) => Promise<Result<BackfillView>>;

const LABELS: Record<BackfillAction, string> = { pause: "Pause backfill", resume: "Resume backfill", cancel: "Cancel backfill" };

const STATUS_TEXT: Record<NonNullable<BackfillView["status"]>, string> = {
  queued: "Waiting for a worker",
  running: "Running",
  throttled: "Waiting: the target is under pressure",
  paused: "Paused",
  succeeded: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

const number = new Intl.NumberFormat("en-GB");

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function BackfillProgress({ initial, calls, timeZone }: { initial: BackfillView; calls: Record<BackfillAction, Call>; timeZone: string }) {
  const time = (iso: string) => formatTime(iso, timeZone);
  const router = useRouter();
  const queryClient = useQueryClient();
  const { data, error } = useBackfillProgressQuery(initial.deploymentId, initial);
  const [pending, startTransition] = useTransition();
  const [actionError, setActionError] = useState<string | null>(null);
  const lastState = useRef(initial.deploymentState);

  // When the deployment ends, the rest of the page (badge, buttons) must follow.
  useEffect(() => {
    if (data.deploymentState !== lastState.current) {
      lastState.current = data.deploymentState;
      router.refresh();
    }
  }, [data.deploymentState, router]);

  const act = (action: BackfillAction) =>
    startTransition(async () => {
      const result = await calls[action]({ id: data.deploymentId });
      if (!result.ok) {
        setActionError(result.error.message);
        return;
      }
      setActionError(null);
      queryClient.setQueryData(backfillKeys.progress(data.deploymentId), result.data);
    });

  const started = data.status !== null;
  return (
    <div className="space-y-3" aria-label="Backfill progress">
      <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
        <span className="font-medium" data-testid="backfill-status">
          {data.status ? STATUS_TEXT[data.status] : "Not started"}
          {data.control === "pause" && data.status !== "paused" ? " (pausing after this batch)" : ""}
          {data.control === "cancel" && data.status !== "cancelled" ? " (cancelling after this batch)" : ""}
        </span>
        <span data-testid="backfill-rows" className="text-slate-700">
          {number.format(data.rowsDone)} of {number.format(data.rowsTotal)} rows · {data.percent}%
        </span>
      </div>
      <ProgressBar size="lg" tone={data.status === "paused" || data.status === "throttled" ? "amber" : "emerald"} label="Rows backfilled" value={data.percent} max={100} valueText={`${data.percent}%`} />
      {started && (
        <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-xs text-slate-700 md:grid-cols-4">
          <div>
            <dt className="text-slate-500">Rate</dt>
            <dd data-testid="backfill-rate">{data.rowsPerSecond === null ? "—" : `${number.format(data.rowsPerSecond)} rows/s`}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Time left</dt>
            <dd data-testid="backfill-eta">{data.etaSeconds === null ? "—" : `about ${duration(data.etaSeconds)}`}</dd>
          </div>
          <div>
            <dt className="text-slate-500">Batch size</dt>
            <dd data-testid="backfill-batch-size">
              {data.batchSize === null ? "—" : `${number.format(data.batchSize)} rows`}
              {data.lastBatchMs !== null && ` (last batch ${data.lastBatchMs} ms, target ${data.targetBatchMs} ms)`}
            </dd>
          </div>
          <div>
            <dt className="text-slate-500">Batches</dt>
            <dd>{number.format(data.batches)}</dd>
          </div>
        </dl>
      )}
      {data.lastPause && (
        <p data-testid="backfill-last-pause" className={`rounded-md px-3 py-2 text-xs ${data.lastPause.resumedAt ? "bg-slate-50 text-slate-700" : "bg-amber-50 text-amber-900"}`}>
          <span className="font-medium">{data.lastPause.kind === "pressure" ? "Yielded to the target" : "Paused"} at {time(data.lastPause.at)}:</span> {data.lastPause.reason}
          {data.lastPause.resumedAt && ` Resumed at ${time(data.lastPause.resumedAt)}.`}
        </p>
      )}
      <div className="flex flex-wrap gap-2">
        {BACKFILL_ACTIONS.map((action) => {
          const decision = data.decisions[action];
          return (
            <button
              key={action}
              type="button"
              disabled={!decision.allowed || pending}
              title={decision.reason ?? undefined}
              onClick={() => act(action)}
              className={`rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-40 ${
                action === "cancel" ? "border border-red-300 bg-white text-red-800" : "border border-slate-300 bg-white text-slate-800"
              }`}
            >
              {LABELS[action]}
            </button>
          );
        })}
      </div>
      {error && <p role="alert" className="text-sm text-red-800">The progress cannot be loaded: {error.message}</p>}
      {actionError && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {actionError}
        </p>
      )}
    </div>
  );
}

/** One line of the run log for a backfill's own events. */
export function describeBackfillEvent(type: string, payload: Record<string, unknown>): string {
  const p = payload as Record<string, string | number | null | undefined>;
  switch (type) {
    case "backfill_started":
      return `Backfill ${p.backfill} started: ${number.format(Number(p.rowsTotal))} rows to change, batches of ${p.batchSize} toward ${p.targetBatchMs} ms`;
    case "backfill_throttled":
      return `  Waiting: ${p.reason}`;
    case "backfill_unthrottled":
      return "  The pressure is gone; batches go on";
    case "backfill_batch_retry":
      return `  A batch was rolled back (${p.error}); retry ${p.attempt} with ${p.nextSize} rows`;
    case "backfill_paused":
      return `Paused after ${number.format(Number(p.rowsDone))} rows: ${p.reason}`;
    case "backfill_resumed":
      return `Resumed by ${p.by}`;
    case "backfill_resumed_by_worker":
      return `A worker picked the backfill up at ${number.format(Number(p.rowsDone))} rows (${p.worker})`;
    case "backfill_new_pass":
      return `  ${number.format(Number(p.rowsLeft))} rows began to need it behind the cursor: pass ${p.pass} from the start`;
    case "backfill_rows_left":
      return `${number.format(Number(p.rowsLeft))} rows still need it after ${plural(Number(p.passes), "pass", "passes")}: they kept arriving behind the cursor; open another backfill deployment for them`;
    case "backfill_succeeded":
      return `Backfill finished: ${number.format(Number(p.rowsDone))} rows in ${plural(Number(p.batches), "batch", "batches")}`;
    case "backfill_cancelled":
      return `Backfill cancelled after ${number.format(Number(p.rowsDone))} rows; those stay changed`;
    default:
      return type;
  }
}
