import { formatDateTime } from "@/lib/format";

export type HeatStatus = "pass" | "empty" | "warn" | "fail" | "error" | "none";

export interface HeatmapRun {
  id: string;
  at: string;
  outcome: string;
  trigger: string;
  cells: Record<string, HeatStatus>;
}

const FILL: Record<HeatStatus, string> = { empty: "#94a3b8", pass: "#10b981", warn: "#f59e0b", fail: "#dc2626", error: "#9a3412", none: "#e2e8f0" };
const WORD: Record<HeatStatus, string> = { empty: "nothing to check", pass: "pass", warn: "warning", fail: "fail", error: "could not run", none: "not checked" };

/**
 * Verification over time: one row per check group, one column per run (oldest left), each cell
 * coloured by the group's worst result in that run. Server-rendered SVG: readable without script,
 * in print, and with a title per cell for the exact result.
 */
export function VerificationHeatmap({ groups, runs, timeZone, label }: { groups: readonly { id: string; title: string }[]; runs: HeatmapRun[]; timeZone: string; label: string }) {
  if (runs.length === 0) return <p className="text-sm text-slate-600">No verification has run yet.</p>;
  const cell = 18;
  const gap = 2;
  const labelWidth = 270;
  const top = 8;
  const width = labelWidth + runs.length * (cell + gap) + 8;
  const height = top + groups.length * (cell + gap) + 40;
  const failing = groups.filter((g) => runs.at(-1)!.cells[g.id] === "fail" || runs.at(-1)!.cells[g.id] === "error");
  return (
    <figure className="overflow-x-auto">
      <svg role="img" aria-label={`${label}: ${runs.length} runs; latest ${runs.at(-1)!.outcome}${failing.length ? `, failing ${failing.map((g) => g.title).join(", ")}` : ""}`} width={width} height={height} className="text-[11px]">
        {groups.map((g, row) => (
          <g key={g.id}>
            <text x={labelWidth - 8} y={top + row * (cell + gap) + cell * 0.7} textAnchor="end" className="fill-slate-700">
              {g.title}
            </text>
            {runs.map((r, col) => {
              const status = r.cells[g.id] ?? "none";
              return (
                <rect key={r.id} data-status={status} x={labelWidth + col * (cell + gap)} y={top + row * (cell + gap)} width={cell} height={cell} rx={3} fill={FILL[status]}>
                  <title>{`${g.title}: ${WORD[status]} · ${formatDateTime(r.at, timeZone)} (${r.trigger})`}</title>
                </rect>
              );
            })}
          </g>
        ))}
        <text x={labelWidth} y={height - 22} className="fill-slate-500">
          {formatDateTime(runs[0]!.at, timeZone)}
        </text>
        {runs.length > 1 && (
          <text x={labelWidth + (runs.length - 1) * (cell + gap) + cell} y={height - 22} textAnchor="end" className="fill-slate-500">
            {formatDateTime(runs.at(-1)!.at, timeZone)}
          </text>
        )}
        <g transform={`translate(${labelWidth}, ${height - 12})`}>
          {(["pass", "empty", "warn", "fail", "error"] as const).map((s, i) => (
            <g key={s} transform={`translate(${i * 95}, 0)`}>
              <rect width={10} height={10} y={-9} rx={2} fill={FILL[s]} />
              <text x={14} className="fill-slate-600">
                {WORD[s]}
              </text>
            </g>
          ))}
        </g>
      </svg>
      <figcaption className="mt-1 text-xs text-slate-500">Each column is one verification run, oldest on the left; hover a cell for its time and trigger.</figcaption>
    </figure>
  );
}
