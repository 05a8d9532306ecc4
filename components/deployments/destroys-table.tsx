import type { DestroyedData } from "@/lib/executor/destroys";
import { formatBytes } from "@/lib/executor/backup-text";
import { Badge } from "../ui/badge";

/** The data a plan's migrations destroy or rewrite, with estimates and tags, and whether it will be backed up. */
export function DestroysTable({ destroys, declined }: { destroys: DestroyedData[]; declined: string | null }) {
  if (destroys.length === 0) return <p className="text-sm text-slate-600">These migrations drop, truncate, delete or rewrite no data.</p>;
  return (
    <div className="space-y-2">
      <p className="text-sm text-slate-700">
        {declined
          ? `The backup was declined (${declined}): this data is destroyed without a copy.`
          : "Before each migration runs, this data is copied to the target's backup schema (readable by no application role) and checked; a rollback puts it back."}
      </p>
      <table className="w-full text-left text-sm" aria-label="Data destroyed">
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th className="py-1 pr-3">Migration</th>
            <th className="py-1 pr-3">Data</th>
            <th className="py-1 pr-3">Rows (est.)</th>
            <th className="py-1 pr-3">Size (est.)</th>
            <th className="py-1 pr-3">Tagged</th>
            <th className="py-1">Backup</th>
          </tr>
        </thead>
        <tbody>
          {destroys.map((d) => (
            <tr key={`${d.tag}/${d.schema}.${d.table}/${d.foundBy}`} className="border-t border-slate-100 align-top">
              <td className="py-1 pr-3 font-mono text-xs">{d.tag}</td>
              <td className="py-1 pr-3">
                <div>
                  {d.rowsRemoved ? (d.predicate ? "rows of " : "every row of ") : ""}
                  <code className="text-xs">
                    {d.schema}.{d.table}
                    {d.rowsRemoved ? "" : `.${d.columns.join(", ")}`}
                  </code>
                  {d.predicate && <span className="text-xs text-slate-600"> where {d.predicate}</span>}
                </div>
                <div className="text-xs text-slate-500">{d.statements.map((s) => `#${s.number} ${s.summary}`).join("; ")}</div>
                {d.notes.map((n) => (
                  <div key={n} className="text-xs text-amber-800">
                    {n}
                  </div>
                ))}
              </td>
              <td className="py-1 pr-3">{d.estimatedRows === null ? "unknown" : d.estimatedRows.toLocaleString("en")}</td>
              <td className="py-1 pr-3">{d.estimatedBytes === null ? "unknown" : formatBytes(d.estimatedBytes)}</td>
              <td className="py-1 pr-3">{d.tagged ? <Badge tone="warn">{d.classes.join(", ")}</Badge> : "no"}</td>
              <td className="py-1">{d.foundBy === "rehearsal" ? <Badge tone="error">not backed up</Badge> : declined ? <Badge tone="error">declined</Badge> : d.restorable ? "copied, restored on rollback" : "copied (restore by hand)"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
