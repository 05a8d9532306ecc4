import type { Blocking } from "@/lib/deployments/service";
import type { RiskSummary } from "@/lib/deployments/risk";
import { Badge } from "../ui/badge";

/** What stops the deployment, first on the page and in red: a reviewer cannot miss it. */
export function BlockingBanner({ blocking }: { blocking: Blocking[] }) {
  if (blocking.length === 0) return null;
  return (
    <div className="space-y-2" data-testid="blocking">
      {blocking.map((b) => (
        <section key={b.kind} role="alert" aria-label={b.title} className="rounded-lg border-2 border-red-300 bg-red-50 px-4 py-3 text-red-900">
          <h2 className="text-base font-semibold">{b.title}</h2>
          <ul className="mt-1 list-disc space-y-0.5 pl-5 text-sm">
            {b.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

const SEVERITY_TONE = { error: "error", warning: "warn", info: "info" } as const;

/** The plan's risk at a glance: highest severity, blocking locks on tables with rows, why compliance must sign off. */
export function RiskSummaryCard({ risk, complianceRequired }: { risk: RiskSummary | null; complianceRequired: boolean }) {
  return (
    <section aria-label="Risk summary" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 className="text-sm font-semibold text-slate-800">Risk summary</h2>
      {!risk ? (
        <p className="mt-1 text-sm text-slate-600">Not available for this plan: recompute it to get one.</p>
      ) : (
        <div className="mt-2 space-y-2 text-sm">
          <p>
            <span className="font-medium">Highest severity:</span>{" "}
            {risk.highestSeverity ? <Badge tone={SEVERITY_TONE[risk.highestSeverity]}>{risk.highestSeverity}</Badge> : "no findings"}
          </p>
          <div>
            <span className="font-medium">Statements that block traffic on tables holding rows:</span>{" "}
            {risk.heavyLocks.length === 0 ? (
              "none"
            ) : (
              <ul className="mt-1 list-disc space-y-0.5 pl-5" aria-label="Blocking locks">
                {risk.heavyLocks.map((l) => (
                  <li key={`${l.tag}-${l.statement}-${l.table}`}>
                    <Badge tone={l.lockLevel === "ACCESS EXCLUSIVE" ? "error" : "warn"}>{l.lockLevel}</Badge> on <code>{l.table}</code>: {l.tag} statement {l.statement}, {l.summary}
                  </li>
                ))}
              </ul>
            )}
          </div>
          <div>
            <span className="font-medium">Compliance sign-off:</span> {complianceRequired ? "required" : "not required"}
            {risk.complianceReasons.length > 0 && (
              <ul className="mt-1 list-disc space-y-0.5 pl-5" aria-label="Why compliance must sign off">
                {risk.complianceReasons.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

export interface TimelineEntry {
  id: number;
  at: Date;
  actor: string | null;
  action: string;
  details: Record<string, unknown>;
}

const ACTION_TEXT: Record<string, string> = {
  "deployment.created": "opened the deployment",
  "deployment.approved": "approved",
  "deployment.signed_off": "signed off for compliance",
  "deployment.rejected": "rejected",
  "deployment.cancelled": "cancelled",
  "deployment.plan_recomputed": "recomputed the plan",
  "deployment.refused": "was refused",
  "deployment.queued": "started the run",
  "deployment.started": "picked the run up",
  "deployment.applied": "finished the apply",
  "deployment.rolled_back": "finished the rollback",
  "deployment.failed": "reported the run failed",
};

function entryText(e: TimelineEntry): string {
  const d = e.details;
  const base = ACTION_TEXT[e.action] ?? e.action;
  if (e.action === "deployment.refused") return `${base} ${String(d.attempted ?? "")}: ${String(d.reason ?? "")}`;
  if (e.action === "deployment.plan_recomputed") return `${base}${d.approvalsVoided ? " (it changed: earlier approvals are void)" : " (unchanged)"}`;
  if (e.action === "deployment.failed") return `${base}: ${String((d.error as { message?: string } | undefined)?.message ?? "")}`;
  return base;
}

/** Who did what, in order, with their comments: the deployment's audit events. */
export function Timeline({ entries, format }: { entries: TimelineEntry[]; format: (d: Date) => string }) {
  return (
    <ol aria-label="Timeline" className="space-y-2 text-sm">
      {entries.map((e) => {
        const comment = (e.details.comment ?? e.details.reason) as string | null | undefined;
        return (
          <li key={e.id} className="border-l-2 border-slate-200 pl-3">
            <span className="text-xs text-slate-500">{format(e.at)}</span> <span className="font-medium">{e.actor ?? "system"}</span> {entryText(e)}
            {comment && e.action !== "deployment.refused" && <blockquote className="mt-0.5 text-slate-700">“{comment}”</blockquote>}
          </li>
        );
      })}
    </ol>
  );
}
