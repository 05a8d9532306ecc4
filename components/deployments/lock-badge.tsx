import type { LockLevel } from "@/lib/migrations";

/** What a lock blocks for the application while it is held: the risk a reviewer weighs. */
export const LOCK_RISK: Record<LockLevel, { risk: "none" | "low" | "medium" | "high"; blocks: string }> = {
  "ACCESS SHARE": { risk: "none", blocks: "blocks only ACCESS EXCLUSIVE (DROP, most ALTER TABLE)" },
  "ROW SHARE": { risk: "none", blocks: "blocks EXCLUSIVE and ACCESS EXCLUSIVE" },
  "ROW EXCLUSIVE": { risk: "low", blocks: "blocks SHARE and stronger (CREATE INDEX without CONCURRENTLY)" },
  "SHARE UPDATE EXCLUSIVE": { risk: "low", blocks: "blocks other schema changes and VACUUM; reads and writes go on" },
  SHARE: { risk: "medium", blocks: "blocks every write to the table; reads go on" },
  "SHARE ROW EXCLUSIVE": { risk: "medium", blocks: "blocks every write to the table; reads go on" },
  EXCLUSIVE: { risk: "medium", blocks: "blocks every write and SELECT … FOR UPDATE; plain reads go on" },
  "ACCESS EXCLUSIVE": { risk: "high", blocks: "blocks every read and write of the table" },
};

const TONE = {
  none: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  low: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  medium: "bg-amber-50 text-amber-900 ring-amber-300",
  high: "bg-red-50 text-red-800 ring-red-300",
};
export const LOCK_BAR = { none: "bg-emerald-400", low: "bg-emerald-500", medium: "bg-amber-500", high: "bg-red-600" };

export function LockBadge({ level }: { level: LockLevel | null }) {
  if (!level) return <span className="text-slate-500">no table lock</span>;
  const { risk, blocks } = LOCK_RISK[level];
  return (
    <span title={blocks} data-risk={risk} className={`inline-flex items-center whitespace-nowrap rounded px-1.5 py-0.5 text-[11px] font-medium ring-1 ring-inset ${TONE[risk]}`}>
      {level}
      <span className="sr-only"> ({risk} risk: {blocks})</span>
    </span>
  );
}

export function lockRiskOf(level: LockLevel | null) {
  return level ? LOCK_RISK[level].risk : "none";
}
