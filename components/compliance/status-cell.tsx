import type { CellStatus } from "@/lib/verify/board";

const STYLE: Record<CellStatus, { text: string; className: string }> = {
  pass: { text: "Pass", className: "bg-emerald-100 text-emerald-900" },
  empty: { text: "Nothing to check", className: "bg-slate-100 text-slate-700 ring-1 ring-inset ring-slate-300" },
  warn: { text: "Warning", className: "bg-amber-100 text-amber-900" },
  fail: { text: "Fail", className: "bg-red-600 text-white" },
  error: { text: "Could not run", className: "bg-red-100 text-red-900" },
  none: { text: "Not run", className: "bg-slate-100 text-slate-500" },
};

export function StatusPill({ status }: { status: CellStatus }) {
  const { text, className } = STYLE[status];
  return <span className={`inline-block rounded px-2 py-0.5 text-xs font-medium ${className}`}>{text}</span>;
}
