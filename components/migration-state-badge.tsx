import type { MigrationState } from "@/lib/ledger";
import { Badge, type BadgeTone } from "./ui/badge";

const LABELS: Record<MigrationState | "unknown", { text: string; tone: BadgeTone }> = {
  applied: { text: "Applied", tone: "ok" },
  pending: { text: "Pending", tone: "info" },
  partially_applied: { text: "Partially applied", tone: "error" },
  checksum_mismatch: { text: "File edited after apply", tone: "error" },
  out_of_order: { text: "Out of order", tone: "warn" },
  unknown: { text: "Not in the files", tone: "error" },
};

export function MigrationStateBadge({ state }: { state: MigrationState | "unknown" }) {
  const { text, tone } = LABELS[state];
  return <Badge tone={tone}>{text}</Badge>;
}
