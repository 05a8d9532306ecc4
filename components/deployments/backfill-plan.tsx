import type { BackfillPlan } from "@/lib/backfills/plan";
import { DATA_CLASS_TAGS } from "@/db/schema/classification";
import { SqlBlock } from "../sql-block";
import { Badge } from "../ui/badge";

const number = new Intl.NumberFormat("en-GB");

function estimate(ms: number | null): string {
  if (ms === null) return "unknown";
  if (ms < 1000) return `under a second`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `about ${s} s` : `about ${Math.round(s / 60)} min`;
}

/** What a reviewer approves for a backfill: rows, columns and their tags, the batch statement, the rehearsal. */
export function BackfillPlanView({ plan, environmentLabel }: { plan: BackfillPlan; environmentLabel: string }) {
  const tagged = plan.columns.filter((c) => c.dataClass);
  return (
    <div className="space-y-4 text-sm">
      <p className="text-slate-700">{plan.description}</p>
      <dl className="grid gap-x-6 gap-y-2 md:grid-cols-2" aria-label="Backfill plan">
        <div>
          <dt className="font-medium">Table and key</dt>
          <dd>
            <code>{plan.table}</code>, walked by <code>{plan.key}</code>
            {plan.keyType && ` (${plan.keyType})`}
          </dd>
        </div>
        <div>
          <dt className="font-medium">Rows to change</dt>
          <dd data-testid="backfill-rows-planned">
            {plan.rows.counted === null ? "not counted" : `${number.format(plan.rows.counted)} counted on ${environmentLabel}`}
            {plan.rows.estimated !== null && ` · ${number.format(plan.rows.estimated)} estimated from statistics`}
            {plan.rows.tableEstimate !== null && ` · table ≈ ${number.format(plan.rows.tableEstimate)} rows`}
            {plan.rows.countNote && <span className="block text-xs text-amber-800">{plan.rows.countNote}</span>}
          </dd>
        </div>
        <div>
          <dt className="font-medium">Estimated duration</dt>
          <dd data-testid="backfill-estimate">{estimate(plan.estimatedDurationMs)} (batches steered toward {plan.tuning.targetMs} ms, {plan.tuning.minSize}–{number.format(plan.tuning.maxSize)} rows)</dd>
        </div>
        <div>
          <dt className="font-medium">Needs migration</dt>
          <dd>
            <code>{plan.requires}</code> · declared in <code>{plan.file}</code>
          </dd>
        </div>
      </dl>
      <div>
        <h3 className="mb-1 font-medium">Columns written</h3>
        <table className="w-full text-left text-xs" aria-label="Columns written">
          <thead className="text-slate-500">
            <tr>
              <th className="py-1 pr-4 font-medium">Column</th>
              <th className="py-1 pr-4 font-medium">Set to</th>
              <th className="py-1 font-medium">Classification</th>
            </tr>
          </thead>
          <tbody>
            {plan.columns.map((c) => (
              <tr key={c.name} className="border-t border-slate-100">
                <td className="py-1 pr-4">
                  <code>{c.name}</code>
                </td>
                <td className="py-1 pr-4">
                  <code>{c.expression}</code>
                </td>
                <td className="py-1">{c.dataClass ? <Badge tone="warn">{DATA_CLASS_TAGS[c.dataClass]}</Badge> : <span className="text-slate-400">untagged</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {tagged.length > 0 && <p className="mt-1 text-xs text-amber-800">Writes tagged data ({tagged.map((c) => c.name).join(", ")}): a compliance officer signs it off.</p>}
      </div>
      <div>
        <h3 className="mb-1 font-medium">Each batch runs</h3>
        <SqlBlock sql={plan.statement} label="Batch statement" />
        <p className="mt-1 text-xs text-slate-600">
          One transaction per batch (lock timeout {plan.tuning.lockTimeoutMs} ms, statement timeout {number.format(plan.tuning.statementTimeoutMs)} ms). A row is changed only while <code>{plan.predicate}</code> holds, so a batch replayed after a crash changes nothing.
        </p>
      </div>
      <div data-testid="backfill-rehearsal">
        <h3 className="mb-1 font-medium">Rehearsal</h3>
        {plan.rehearsal.ok ? (
          <p className="text-slate-700">
            {plan.rehearsal.batches.length} batch(es) on a throw-away copy holding {number.format(plan.rehearsal.sampleRows)} sample rows:{" "}
            {plan.rehearsal.batches.map((b) => `${number.format(b.rows)} rows in ${b.ms} ms`).join(", ") || "nothing to change"}.
          </p>
        ) : (
          <p className="text-red-800">{plan.rehearsal.error}</p>
        )}
      </div>
    </div>
  );
}
