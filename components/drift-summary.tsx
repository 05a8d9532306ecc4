import { formatDateTime, plural } from "@/lib/format";
import type { DriftSummary } from "@/lib/store/schema/environment-status";
import { Badge } from "./ui/badge";

/** What the last verification found of changes by hand; compact for tables, full for the environment page. */
export function DriftBadge({ drift }: { drift: DriftSummary | null | undefined }) {
  if (!drift) return <Badge>not checked yet</Badge>;
  if (drift.drifted === null) return <span title={drift.unchecked ?? undefined}><Badge tone="warn">drift not checked</Badge></span>;
  if (!drift.drifted) return <Badge tone="ok">no drift</Badge>;
  return <Badge tone="error">{plural(drift.objects.length, "object")} drifted</Badge>;
}

export function DriftDetails({ drift, since, timeZone, groupTitles }: { drift: DriftSummary | null; since: Date | null; timeZone: string; groupTitles: Record<string, string> }) {
  if (!drift) return <p className="text-sm text-slate-600">Not checked yet: every verification run compares the live schema with what the applied migrations produce.</p>;
  if (drift.drifted === null) return <p className="text-sm text-amber-800">Drift could not be checked at the last run ({formatDateTime(drift.checkedAt, timeZone)}): {drift.unchecked}</p>;
  if (!drift.drifted) return <p className="text-sm text-slate-700">None: at {formatDateTime(drift.checkedAt, timeZone)} the live schema was exactly what the applied migrations produce.</p>;
  return (
    <div className="text-sm" role="status" aria-label="Drift">
      <p className="mb-2 text-red-800">
        The live schema differs from what its applied migrations produce: someone changed it by hand, or a migration ran outside the console
        {since ? `; first seen ${formatDateTime(since, timeZone)}` : ""}. Last checked {formatDateTime(drift.checkedAt, timeZone)}.
      </p>
      <ul className="space-y-1">
        {drift.objects.map((o) => (
          <li key={`${o.object}-${o.change}`} className="flex flex-wrap items-center gap-2">
            <span className="font-mono text-xs">{o.object}</span>
            <span className="text-slate-600">{o.change === "changed" ? `${o.fields.join(", ")} changed` : o.change === "added" ? "added by hand" : "missing"}</span>
            {o.group && <Badge tone="error">turns {groupTitles[o.group] ?? o.group} red</Badge>}
          </li>
        ))}
      </ul>
    </div>
  );
}
