import { formatBytes } from "@/lib/executor/backup-text";
import type { BackupRecord } from "@/lib/executor/backup";
import { formatDateTime } from "@/lib/format";
import { Badge } from "../ui/badge";

/** Live backups (copies still on the target) with size and expiry; the rest of the record folded away. */
export function BackupsTable({ backups, timeZone }: { backups: BackupRecord[]; timeZone: string }) {
  const date = { format: (d: Date | string) => formatDateTime(d, timeZone) };
  const live = backups.filter((b) => b.state === "verified");
  const past = backups.filter((b) => b.state !== "verified");
  return (
    <div className="space-y-3">
      {live.length === 0 ? (
        <p className="text-sm text-slate-600">No live backups: no copy of destroyed data is kept on this target.</p>
      ) : (
        <table className="w-full text-left text-sm" aria-label="Live backups">
          <thead className="text-xs uppercase text-slate-500">
            <tr>
              <th className="py-1 pr-3">Data</th>
              <th className="py-1 pr-3">Migration</th>
              <th className="py-1 pr-3">Rows</th>
              <th className="py-1 pr-3">Size</th>
              <th className="py-1 pr-3">Tagged</th>
              <th className="py-1 pr-3">Taken</th>
              <th className="py-1">Expires</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {live.map((b) => (
              <tr key={b.id}>
                <td className="py-1 pr-3">
                  <code className="text-xs">{b.rowsRemoved ? `${b.table} (rows)` : `${b.table}.${b.columns.join(", ")}`}</code>
                </td>
                <td className="py-1 pr-3 font-mono text-xs">
                  {b.tag} ({b.direction === "up" ? "apply" : "rollback"})
                </td>
                <td className="py-1 pr-3">{(b.rows ?? 0).toLocaleString("en")}</td>
                <td className="py-1 pr-3">{formatBytes(b.bytes ?? 0)}</td>
                <td className="py-1 pr-3">{b.tagged ? <Badge tone="warn">{b.classes.join(", ")}</Badge> : "no"}</td>
                <td className="py-1 pr-3">
                  {date.format(b.createdAt)} by {b.actor}
                </td>
                <td className="py-1">{b.expiresAt ? date.format(b.expiresAt) : "never"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {past.length > 0 && (
        <details>
          <summary className="cursor-pointer text-sm text-slate-700">{past.length} earlier backup(s): restored, purged, discarded or declined</summary>
          <ul className="mt-2 space-y-1 text-xs text-slate-700" aria-label="Earlier backups">
            {past.map((b) => (
              <li key={b.id}>
                <Badge tone={b.state === "declined" ? "error" : "neutral"}>{b.state}</Badge> {b.rowsRemoved ? `${b.table} (rows)` : `${b.table}.${b.columns.join(", ")}`} by {b.tag}, {date.format(b.createdAt)}
                {b.state === "restored" && b.restoredAt ? `; restored ${date.format(b.restoredAt)} (${b.restoredRows} rows)` : ""}
                {b.state === "purged" && b.purgedAt ? `; purged ${date.format(b.purgedAt)}` : ""}
                {b.reason ? `: ${b.reason}` : ""}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
