import type { SchemaDiff } from "@/lib/plan/diff";

/** The readable unified diff of the schema, coloured by line. */
export function SchemaDiffView({ diff, label }: { diff: SchemaDiff; label: string }) {
  if (diff.changes.length === 0) return <p className="text-sm text-slate-600">No schema change.</p>;
  return (
    <div>
      <p className="mb-2 text-xs text-slate-600">
        {diff.counts.added} added, {diff.counts.removed} removed, {diff.counts.changed} changed
      </p>
      <pre aria-label={label} className="max-h-[32rem] overflow-auto rounded-md border border-slate-200 bg-white p-3 text-xs leading-relaxed">
        {diff.text.split("\n").map((line, i) => (
          <div
            key={i}
            className={line.startsWith("+") ? "bg-emerald-50 text-emerald-900" : line.startsWith("-") ? "bg-red-50 text-red-900" : line.startsWith("@@") ? "text-sky-700" : "text-slate-600"}
          >
            {line || " "}
          </div>
        ))}
      </pre>
    </div>
  );
}
