"use client";

import { ProgressBar } from "@/components/ui/progress-bar";
import { useRouter } from "next/navigation";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { RunEvent } from "@/lib/executor";
import { describeBackupEvent } from "@/lib/executor/backup-text";
import { formatDate, formatTime, plural } from "@/lib/format";
import { useRunLogQuery, type RunLogData } from "@/app/_queries/deployment-log";
import { describeBackfillEvent } from "./backfill-progress";

function describe(row: RunLogData["events"][number]): string {
  if (row.type.startsWith("backfill_")) return describeBackfillEvent(row.type, row.payload);
  const e = { type: row.type, ...row.payload } as RunEvent;
  switch (e.type) {
    case "run_started":
      return `Run started: ${plural(e.migrations.length, "migration")}, ${plural(e.statements, "statement")}`;
    case "migration_started":
      return `Migration ${e.n} of ${e.of}: ${e.tag}${e.transactional ? "" : " (outside a transaction)"}`;
    case "statement_finished":
      return `  ${e.tag} statement ${e.statement} of ${e.of}: ${e.summary} (${e.durationMs} ms)`;
    case "retry":
      // The executor words the line (it names the blocker); runs logged before it did fall back.
      return `  ${e.message ?? `Lock wait too long on ${e.tag} statement ${e.statement}; retry ${e.attempt} of ${e.maxRetries} in ${e.delayMs} ms`}`;
    case "statement_skipped":
      return `  ${e.tag} statement ${e.statement} of ${e.of}: ${e.summary}: skipped, ${e.reason}`;
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
    default:
      return `  ${describeBackupEvent(e)}`;
  }
}

/** Within this many pixels of the bottom the log counts as followed. */
const FOLLOW_SLACK_PX = 24;

export function RunLog({ deploymentId, initialState, initialVerification, timeZone }: { deploymentId: string; initialState: string; initialVerification: string | null; timeZone: string }) {
  const router = useRouter();
  const { data, error } = useRunLogQuery(deploymentId, initialState);
  const lastState = useRef(`${initialState}/${initialVerification ?? ""}`);
  const list = useRef<HTMLOListElement>(null);
  // Follows new lines until the reader scrolls up; scrolling back to the bottom follows again.
  const [following, setFollowing] = useState(true);
  const [unseen, setUnseen] = useState(0);
  const seen = useRef(0);
  const count = data?.events.length ?? 0;

  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (following) {
      el.scrollTop = el.scrollHeight;
      seen.current = count;
      setUnseen(0);
    } else setUnseen(count - seen.current);
  }, [count, following]);

  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= FOLLOW_SLACK_PX;
    if (atBottom !== following) setFollowing(atBottom);
  };

  // When the run reaches another state, or its verification's outcome arrives, the rest of the page (buttons, badges) must follow.
  useEffect(() => {
    const now = data ? `${data.state}/${data.verification ?? ""}` : null;
    if (now && now !== lastState.current) {
      lastState.current = now;
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
        <ProgressBar className="mb-3" label="Statements run" value={progress?.done ?? 0} max={total} />
      )}
      <p className="mb-1 text-xs text-slate-500">
        Started {formatDate(data.run.startedAt, timeZone)}; times in {timeZone}. {following ? "Following new lines." : "Scrolled up: not following."}
      </p>
      <div className="relative">
        <ol
          ref={list}
          onScroll={onScroll}
          aria-label="Run log"
          data-following={following}
          className="max-h-96 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-relaxed text-slate-100"
        >
          {data.events.map((e) => (
            <li key={e.id} className={e.type === "run_failed" ? "text-red-300" : e.type === "retry" ? "text-amber-300" : undefined}>
              <span className="text-slate-500">{formatTime(e.at, timeZone)}</span> {describe(e)}
            </li>
          ))}
        </ol>
        {!following && (
          <button
            type="button"
            onClick={() => setFollowing(true)}
            className="absolute bottom-3 right-5 rounded-full bg-sky-600 px-3 py-1 text-xs font-medium text-white shadow"
          >
            {unseen > 0 ? `${plural(unseen, "new line")} · follow` : "Follow new lines"}
          </button>
        )}
      </div>
    </div>
  );
}
