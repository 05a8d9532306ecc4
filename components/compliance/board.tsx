"use client";

import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState, useTransition } from "react";
import type { Result } from "@/lib/errors";
import { formatDateTime, plural } from "@/lib/format";
import { complianceKeys, useComplianceBoardQuery } from "@/app/_queries/compliance-board";
import type { ComplianceBoard as Board } from "@/lib/verify/board";
import { StatusPill } from "./status-cell";

export function ComplianceBoard({ initial, runNow, timeZone }: { initial: Board; runNow: (input: { environment: string }) => Promise<Result<{ outcome: string }>>; timeZone: string }) {
  const { data } = useComplianceBoardQuery(initial);
  const queryClient = useQueryClient();
  const [pending, startTransition] = useTransition();
  const [running, setRunning] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = (environment: string) => {
    setRunning(environment);
    startTransition(async () => {
      const result = await runNow({ environment });
      setError(result.ok ? null : result.error.message);
      await queryClient.invalidateQueries({ queryKey: complianceKeys.all });
      setRunning(null);
    });
  };

  return (
    <div className="space-y-3">
      {error && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      )}
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
        <table className="w-full text-left text-sm" aria-label="Compliance board">
          <thead className="bg-slate-50 text-xs text-slate-600">
            <tr>
              <th className="px-3 py-2">Check group</th>
              {data.environments.map((e) => (
                <th key={e.name} className="px-3 py-2" scope="col">
                  <div className="text-sm font-semibold text-slate-900">{e.label}</div>
                  <div className="font-normal" data-testid={`last-run-${e.name}`}>
                    {e.latest ? `Last run ${formatDateTime(e.latest.at, timeZone)} (${e.latest.trigger}) at ${e.latest.targetVersion ?? "no version"}` : "Never verified"}
                  </div>
                  {e.trend.length > 0 && (
                    <div className="mt-1 font-normal" aria-label={`Trend of ${e.label}`}>
                      Last {plural(e.trend.length, "run")}: {e.trend.filter((t) => t.outcome === "passed").length} passed
                      {e.trend.some((t) => t.outcome !== "passed") ? `, ${e.trend.filter((t) => t.outcome !== "passed").length} red` : ""} ·{" "}
                      <Link className="text-brand-700 underline" href={`/compliance/${e.name}#history`}>
                        chart
                      </Link>
                    </div>
                  )}
                  <button
                    type="button"
                    onClick={() => run(e.name)}
                    disabled={pending}
                    className="mt-2 rounded-md border border-slate-300 bg-white px-2 py-1 text-xs font-medium text-slate-800 disabled:opacity-50"
                  >
                    {running === e.name ? "Verifying…" : `Verify ${e.label} now`}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <tr>
              <th scope="row" className="px-3 py-2 font-medium">
                Overall
              </th>
              {data.environments.map((e) => (
                <td key={e.name} className="px-3 py-2" data-testid={`overall-${e.name}`}>
                  {e.latest ? (
                    <StatusPill status={e.latest.outcome === "passed" ? "pass" : e.latest.outcome === "failed" ? "fail" : "error"} />
                  ) : (
                    <StatusPill status="none" />
                  )}
                  {e.unreachable && <div className="mt-1 text-xs text-red-800">{e.unreachable}</div>}
                </td>
              ))}
            </tr>
            {data.groups.map((g) => (
              <tr key={g.id}>
                <th scope="row" className="px-3 py-2 font-normal">
                  {g.title}
                </th>
                {data.environments.map((e) => (
                  <td key={e.name} className="px-3 py-2">
                    <Link href={`/compliance/${e.name}#${g.id}`} aria-label={`${g.title} on ${e.label}: ${e.groups[g.id]}`}>
                      <StatusPill status={e.groups[g.id]} />
                    </Link>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
