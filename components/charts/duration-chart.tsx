import { formatDateTime, formatDuration } from "@/lib/format";

export interface DurationPoint {
  number: number;
  kind: string;
  state: string;
  at: Date | string;
  durationMs: number;
}

/** Apply durations over time: one bar per run (oldest left), red when the run failed, with a labelled scale. */
export function DurationChart({ points, timeZone, label }: { points: DurationPoint[]; timeZone: string; label: string }) {
  if (points.length === 0) return <p className="text-sm text-slate-600">No deployment has run here yet.</p>;
  const max = Math.max(...points.map((p) => p.durationMs), 1);
  const niceMax = niceCeiling(max);
  const bar = 16;
  const gap = 6;
  const left = 64;
  const plotHeight = 120;
  const width = left + points.length * (bar + gap) + 16;
  const height = plotHeight + 40;
  const y = (ms: number) => 8 + plotHeight - (ms / niceMax) * plotHeight;
  return (
    <figure className="overflow-x-auto">
      <svg role="img" aria-label={`${label}: ${points.length} runs, longest ${formatDuration(max)}`} width={width} height={height} className="text-[11px]">
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={left - 4} x2={width - 8} y1={y(niceMax * f)} y2={y(niceMax * f)} stroke="#e2e8f0" />
            <text x={left - 8} y={y(niceMax * f) + 4} textAnchor="end" className="fill-slate-500">
              {formatDuration(niceMax * f)}
            </text>
          </g>
        ))}
        {points.map((p, i) => (
          <rect key={`${p.number}-${i}`} x={left + i * (bar + gap)} y={y(p.durationMs)} width={bar} height={Math.max(1, 8 + plotHeight - y(p.durationMs))} rx={2} fill={p.state === "failed" ? "#dc2626" : "#0ea5e9"}>
            <title>{`#${p.number} ${p.kind} ${p.state}: ${formatDuration(p.durationMs)} · ${formatDateTime(p.at, timeZone)}`}</title>
          </rect>
        ))}
        {points.map((p, i) =>
          i === 0 || i === points.length - 1 || points.length <= 8 ? (
            <text key={`l${i}`} x={left + i * (bar + gap) + bar / 2} y={height - 14} textAnchor="middle" className="fill-slate-500">
              #{p.number}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption className="mt-1 text-xs text-slate-500">Duration of each run, oldest on the left; blue succeeded, red failed.</figcaption>
    </figure>
  );
}

function niceCeiling(v: number): number {
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * exp) return m * exp;
  return 10 * exp;
}
