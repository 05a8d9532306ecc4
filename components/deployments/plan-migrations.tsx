import type { PlannedMigration } from "@/lib/plan/plan";
import { SqlBlock } from "../sql-block";
import { Badge } from "../ui/badge";

export function PlanMigrations({ migrations }: { migrations: PlannedMigration[] }) {
  return (
    <div className="space-y-6">
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
                  <td className="whitespace-nowrap pr-2">{s.lockLevel ?? "none"}</td>
                  <td className="whitespace-nowrap">{s.rehearsalMs === null ? "not reached" : `${s.rehearsalMs} ms`}</td>
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
