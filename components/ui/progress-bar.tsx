/** One horizontal bar for "how far": a run's statements, a backfill's rows, what an interrupted migration committed. */
const heights = { sm: "h-1.5", md: "h-2", lg: "h-3" } as const;
const fills = { sky: "bg-sky-500", emerald: "bg-emerald-500", amber: "bg-amber-400" } as const;

export function ProgressBar({
  value,
  max,
  label,
  valueText,
  size = "md",
  tone = "emerald",
  className = "",
}: {
  value: number;
  max: number;
  /** The accessible name; a bar that a heading already names may go without. */
  label?: string;
  valueText?: string;
  size?: keyof typeof heights;
  tone?: keyof typeof fills;
  className?: string;
}) {
  const percent = max > 0 ? Math.min(100, Math.max(0, Math.round((value / max) * 100))) : 0;
  return (
    <div
      className={`${heights[size]} w-full overflow-hidden rounded bg-slate-200 ${className}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={value}
      aria-valuetext={valueText}
    >
      <div className={`h-full ${fills[tone]} transition-all`} style={{ width: `${percent}%` }} />
    </div>
  );
}
