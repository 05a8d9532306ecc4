import type { PlannedMigration } from "@/lib/plan/plan";
import { SqlBlock } from "../sql-block";
import { formatDuration } from "@/lib/format";
import { Badge } from "../ui/badge";
import { LOCK_BAR, LockBadge, lockRiskOf } from "./lock-badge";

export function PlanMigrations({ migrations }: { migrations: PlannedMigration[] }) {
  const longest = Math.max(1, ...migrations.flatMap((m) => m.statements.map((s) => s.rehearsalMs ?? 0)));
  return (
    <div className="space-y-6">
      <p className="text-xs text-slate-600">
        Lock colours: <LockBadge level="ROW EXCLUSIVE" /> reads and writes go on, <LockBadge level="SHARE" /> writes wait, <LockBadge level="ACCESS EXCLUSIVE" /> everything waits. Bars: rehearsal time, coloured by the lock held.
      </p>
      {migrations.map((m) => (
        <section key={m.tag} aria-label={`Migration ${m.tag}`} className="space-y-2">
          <h3 className="font-mono text-sm font-semibold">
            {m.tag} <span className="font-sans text-xs font-normal text-slate-500">{m.transactional ? "one transaction" : "outside a transaction (CONCURRENTLY)"}</span>
          </h3>
          <table className="w-full text-left text-xs" aria-label={`Statements of ${m.tag}`}>
            <thead className="uppercase text-slate-500">
              <tr>
                <th className="py-1">#</th>
                <th>Statement</th>
                <th>Lock</th>
                <th>Rehearsal</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {m.statements.map((s) => (
                <tr key={s.number}>
                  <td className="py-1 pr-2 text-slate-500">{s.number}</td>
                  <td className="pr-2 font-mono">
                    {s.summary} {s.destructive && <Badge tone="error">destroys data</Badge>}
                  </td>
                  <td className="whitespace-nowrap pr-2">
                    <LockBadge level={s.lockLevel} />
                  </td>
                  <td className="w-48 whitespace-nowrap">
                    {s.rehearsalMs === null ? (
                      "not reached"
                    ) : (
                      <span className="flex items-center gap-2">
                        <span className="h-2 w-28 overflow-hidden rounded bg-slate-100" aria-hidden>
                          <span className={`block h-full ${LOCK_BAR[lockRiskOf(s.lockLevel)]}`} style={{ width: `${Math.max(2, Math.round((s.rehearsalMs / longest) * 100))}%` }} />
                        </span>
                        {formatDuration(s.rehearsalMs)}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary className="cursor-pointer text-sm text-slate-700">SQL of {m.tag}</summary>
            <SqlBlock sql={m.sql} label={`SQL of ${m.tag}`} />
          </details>
        </section>
      ))}
    </div>
  );
}
