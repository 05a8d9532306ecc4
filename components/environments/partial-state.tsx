import type { PartialState as Partial } from "@/lib/ledger/status";
import { ProgressBar } from "@/components/ui/progress-bar";
import { plural } from "@/lib/format";

const INDEX_STATE = {
  valid: { text: "built, valid", chip: "bg-emerald-500" },
  invalid: { text: "invalid (dropped and rebuilt by the next apply)", chip: "bg-red-500" },
  missing: { text: "not built", chip: "bg-slate-300" },
} as const;

/** What an interrupted migration left: how far it got, and each index it builds, coloured by state. */
export function PartialState({ tag, partial }: { tag: string; partial: Partial }) {
  const counts = { valid: 0, invalid: 0, missing: 0 };
  for (const index of partial.indexes) counts[index.state]++;
  return (
    <ul className="ml-6 mt-2 space-y-1 text-xs text-slate-700" aria-label={`What ${tag} left`}>
      <li className="max-w-md">
        {partial.statementsDone} of {plural(partial.statementsTotal, "statement")} committed
        <ProgressBar className="mt-1" tone="amber" label={`Statements of ${tag} committed`} value={partial.statementsDone} max={partial.statementsTotal} />
        {partial.indexes.length > 0 && (
          <span className="mt-1 block">
            Indexes: {counts.valid} built, {counts.invalid} invalid, {counts.missing} not built
          </span>
        )}
      </li>
      {partial.indexes.map((index) => (
        <li key={index.name} className="flex items-center gap-2">
          <span aria-hidden className={`inline-block h-2.5 w-2.5 rounded-sm ${INDEX_STATE[index.state].chip}`} />
          <span>
            <span className="font-mono">{index.name}</span>: {INDEX_STATE[index.state].text}
          </span>
        </li>
      ))}
    </ul>
  );
}
