import type { CheckResult } from "@/lib/verify";
import { SqlBlock } from "../sql-block";
import { StatusPill } from "./status-cell";

/** One check's result with its evidence: the objects at fault, details, the SQL that reproduces it, the fix. */
export function CheckEvidence({ result, full }: { result: CheckResult; full?: boolean }) {
  const objects = full ? result.evidence.objects : result.evidence.objects.slice(0, 8);
  return (
    <div className="space-y-2 text-sm">
      <div className="flex flex-wrap items-center gap-2">
        <StatusPill status={result.status} />
        <span className="font-medium">{result.title}</span>
        <span className="text-xs text-slate-500">
          {result.checkId} · severity {result.severity} · {result.controls.map((c) => `${c.framework} ${c.ref}`).join(", ")}
        </span>
      </div>
      <p className="text-slate-700">{result.summary}</p>
      {objects.length > 0 && (
        <ul aria-label={`Evidence of ${result.checkId}`} className="list-disc pl-5 font-mono text-xs text-slate-800">
          {objects.map((o) => (
            <li key={o}>{o}</li>
          ))}
          {!full && result.evidence.objects.length > objects.length && <li>… and {result.evidence.objects.length - objects.length} more</li>}
        </ul>
      )}
      {full && result.evidence.rows && result.evidence.rows.length > 0 && (
        <pre className="max-h-80 overflow-auto rounded-md bg-slate-50 p-2 text-xs">{JSON.stringify(result.evidence.rows, null, 2)}</pre>
      )}
      {result.status !== "pass" && <p className="text-xs text-slate-700">How to fix: {result.fix}</p>}
      {full && (
        <div>
          <p className="mb-1 text-xs font-medium text-slate-600">Reproduce with this SQL (psql, as a superuser):</p>
          <SqlBlock sql={result.evidence.sql} label={`SQL reproducing ${result.checkId}`} />
        </div>
      )}
    </div>
  );
}
