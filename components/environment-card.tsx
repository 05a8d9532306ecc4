import type { TargetProbe } from "@/lib/targets/probe";
import { Badge } from "./ui/badge";

export interface EnvironmentSummary {
  name: string;
  label: string;
  position: number;
  requiredApprovals: number;
  promotionFrom: string | null;
  probe: TargetProbe;
}

export function EnvironmentCard({ env }: { env: EnvironmentSummary }) {
  return (
    <article aria-label={`Environment ${env.label}`} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex items-start justify-between gap-2">
        <div>
          <p className="text-xs uppercase tracking-wide text-slate-500">Step {env.position + 1} of the promotion chain</p>
          <h2 className="text-lg font-semibold text-slate-900">{env.label}</h2>
        </div>
        {env.probe.reachable ? <Badge tone="ok">Database answers</Badge> : <Badge tone="error">Unreachable</Badge>}
      </div>
      <dl className="mt-3 space-y-1 text-sm text-slate-700">
        {env.probe.reachable ? (
          <div className="flex gap-2">
            <dt className="text-slate-500">Server</dt>
            <dd>
              PostgreSQL {env.probe.serverVersion} · {env.probe.latencyMs} ms
            </dd>
          </div>
        ) : (
          <div role="alert" className="rounded-md bg-red-50 px-3 py-2 text-red-800">
            {env.probe.error}
          </div>
        )}
        <div className="flex gap-2">
          <dt className="text-slate-500">Approvals</dt>
          <dd>{env.requiredApprovals === 0 ? "none required" : `${env.requiredApprovals} release manager${env.requiredApprovals > 1 ? "s" : ""}`}</dd>
        </div>
        {env.promotionFrom && (
          <div className="flex gap-2">
            <dt className="text-slate-500">Promotion</dt>
            <dd>only what passed on {env.promotionFrom}</dd>
          </div>
        )}
      </dl>
    </article>
  );
}
