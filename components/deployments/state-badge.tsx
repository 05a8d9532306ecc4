import type { DeploymentState } from "@/lib/store/schema/deployments";
import { Badge, type BadgeTone } from "../ui/badge";

const STYLE: Record<DeploymentState, { text: string; tone: BadgeTone }> = {
  awaiting_approval: { text: "Awaiting approval", tone: "warn" },
  approved: { text: "Approved", tone: "info" },
  queued: { text: "Queued", tone: "info" },
  running: { text: "Running", tone: "info" },
  succeeded: { text: "Succeeded", tone: "ok" },
  failed: { text: "Failed", tone: "error" },
  rejected: { text: "Rejected", tone: "error" },
  cancelled: { text: "Cancelled", tone: "neutral" },
};

export function DeploymentStateBadge({ state, verification }: { state: DeploymentState; verification?: string | null }) {
  const { text, tone } = STYLE[state];
  if (state === "succeeded" && verification === "failed") return <Badge tone="error">Applied, verification failed</Badge>;
  return <Badge tone={tone}>{text}</Badge>;
}
