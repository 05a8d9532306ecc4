"use client";

import { ProgressBar } from "@/components/ui/progress-bar";
import Link from "next/link";
import { formatDateTime, plural } from "@/lib/format";
import { useOverviewQuery } from "@/app/_queries/overview";
import type { OverviewEnvironment } from "@/lib/targets/overview";
import { Badge, type BadgeTone } from "../ui/badge";

export interface OverviewBoardProps {
  initial: OverviewEnvironment[];
  timeZone: string;
  groupTitles: Record<string, string>;
}

const RESULT_TONE: Record<string, BadgeTone> = { succeeded: "ok", failed: "error", running: "info", queued: "info" };
const RESULT_WORD: Record<string, string> = { succeeded: "succeeded", failed: "failed", running: "running", queued: "queued" };

export function OverviewBoard({ initial, timeZone, groupTitles }: OverviewBoardProps) {
  const { data, error } = useOverviewQuery(initial);
  const mine = data.flatMap((e) => e.awaitingMe.map((a) => ({ ...a, environment: e.label })));
  return (
    <div className="space-y-6">
      {error && (
        <p role="alert" className="text-sm text-amber-800">
          The Overview could not refresh: {error.message}. Showing the last state it read.
        </p>
      )}
      <section aria-label="Waiting on you" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <h2 className="text-sm font-semibold text-slate-800">Waiting on you</h2>
        {mine.length === 0 ? (
          <p className="mt-1 text-sm text-slate-600">Nothing waits on your role right now.</p>
        ) : (
          <ul className="mt-2 space-y-1 text-sm">
            {mine.map((m) => (
              <li key={`${m.id}-${m.action}`}>
                <Badge tone="warn">{m.action === "approve" ? "Approve" : "Sign off"}</Badge>{" "}
                <Link className="text-brand-700 underline" href={`/deployments/${m.id}`}>
                  {m.environment}: {m.summary}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
        {data.map((env) => (
          <EnvironmentOverviewCard key={env.name} env={env} timeZone={timeZone} groupTitles={groupTitles} />
        ))}
      </div>
    </div>
  );
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[7.5rem_1fr] gap-2">
      <dt className="text-slate-500">{label}</dt>
      <dd className="min-w-0">{children}</dd>
    </div>
  );
}

function EnvironmentOverviewCard({ env, timeZone, groupTitles }: { env: OverviewEnvironment; timeZone: string; groupTitles: Record<string, string> }) {
  const s = env.status;
  const compliance = s?.verification.outcome;
  const drift = s?.drift;
  return (
    <article aria-label={`Environment ${env.label}`} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex items-start justify-between gap-2">
        <div>
          <p className="text-xs uppercase tracking-wide text-slate-500">Step {env.position + 1} of the promotion chain</p>
          <h2 className="text-lg font-semibold text-slate-900">
            <Link href={`/environments/${env.name}`} className="hover:underline">
              {env.label}
            </Link>
          </h2>
        </div>
        {!s ? (
          <Badge>Not verified yet</Badge>
        ) : !s.reachable ? (
          <Badge tone="error">Unreachable</Badge>
        ) : compliance === "passed" ? (
          <Badge tone="ok">Compliant</Badge>
        ) : (
          <Badge tone="error">{compliance === "failed" ? "Checks failing" : "Checks could not run"}</Badge>
        )}
      </div>
      <dl className="mt-3 space-y-1.5 text-sm text-slate-700">
        <Row label="Migration">
          {s ? (
            <span data-testid="current-version">
              <span className="font-mono text-xs">{s.currentVersion ?? "nothing applied"}</span>
              {" · "}
              {s.pendingCount === null ? "pending unknown" : s.pendingCount === 0 ? "up to date" : `${s.pendingCount} pending`}
              {s.ledgerProblems > 0 && (
                <>
                  {" "}
                  <Badge tone="error">{plural(s.ledgerProblems, "ledger problem")}</Badge>
                </>
              )}
            </span>
          ) : (
            "not read yet: the first verification run records it"
          )}
        </Row>
        <Row label="Compliance">
          {!s?.verification.at ? (
            "no verification yet"
          ) : (
            <span data-testid="compliance">
              <Link className="underline" href={`/compliance/${env.name}`}>
                {compliance === "passed" ? "all checks pass" : s.verification.failingGroups.length > 0 ? s.verification.failingGroups.map((g) => groupTitles[g] ?? g).join(", ") : s.error ?? "could not run"}
              </Link>
              <span className="block text-xs text-slate-500">verified {formatDateTime(s.verification.at, timeZone)}</span>
            </span>
          )}
        </Row>
        <Row label="Drift">
          {!drift ? (
            "not checked yet"
          ) : drift.drifted === null ? (
            <span className="text-slate-500">not checked: {drift.unchecked}</span>
          ) : drift.drifted ? (
            <div data-testid="drift" role="status">
              <Badge tone="error">{plural(drift.objects.length, "object")} changed by hand</Badge>
              <ul className="mt-1 space-y-0.5 text-xs">
                {drift.objects.slice(0, 4).map((o) => (
                  <li key={`${o.object}-${o.change}`} className="break-words font-mono">
                    {o.object} {o.change === "changed" ? `(${o.fields.join(", ")})` : `(${o.change === "added" ? "added" : "missing"})`}
                  </li>
                ))}
                {drift.objects.length > 4 && <li>and {drift.objects.length - 4} more</li>}
              </ul>
              {s?.driftSince && <span className="text-xs text-slate-500">since {formatDateTime(s.driftSince, timeZone)}</span>}
            </div>
          ) : (
            <span data-testid="drift">none: the live schema is what the migrations produce</span>
          )}
        </Row>
        <Row label="Running">
          {env.running ? (
            <div data-testid="running">
              <Link className="underline" href={`/deployments/${env.running.id}`}>
                #{env.running.number} {env.running.kind} to {env.running.to ?? "empty"}
              </Link>{" "}
              <Badge tone="info">{RESULT_WORD[env.running.state]}</Badge>
              {env.running.progress.total !== null && env.running.progress.total > 0 && (
                <>
                  <span className="block text-xs" data-testid="running-progress">
                    {env.running.progress.done} of {plural(env.running.progress.total, "statement")}
                  </span>
                  <ProgressBar className="mt-1" size="sm" tone="sky" label={`Deployment #${env.running.number} progress`} value={env.running.progress.done} max={env.running.progress.total} />
                </>
              )}
            </div>
          ) : (
            "nothing"
          )}
        </Row>
        <Row label="Last deployment">
          {env.last ? (
            <span data-testid="last-deployment">
              <Link className="underline" href={`/deployments/${env.last.id}`}>
                #{env.last.number} {env.last.kind} {env.last.from ?? "empty"} → {env.last.to ?? "empty"}
              </Link>{" "}
              <Badge tone={RESULT_TONE[env.last.state] ?? "neutral"}>{RESULT_WORD[env.last.state] ?? env.last.state}</Badge>
              {env.last.verification === "failed" && (
                <>
                  {" "}
                  <Badge tone="error">verification failed</Badge>
                </>
              )}
              <span className="block text-xs text-slate-500">
                by {env.last.author.name} ({env.last.author.email}), {formatDateTime(env.last.updatedAt, timeZone)}
              </span>
            </span>
          ) : (
            "none yet"
          )}
        </Row>
        <Row label="Server">
          {s ? (s.reachable ? `PostgreSQL ${s.serverVersion ?? "?"}` : <span className="text-red-800">{s.error}</span>) : "not read yet"}
        </Row>
        <Row label="Gates">
          {env.requiredApprovals === 0 ? "no approval required" : plural(env.requiredApprovals, "release-manager approval")}
          {env.promotionFrom ? `; only what passed on ${env.promotionFrom}` : ""}
          {env.awaitingApproval > 0 ? ` · ${plural(env.awaitingApproval, "deployment")} awaiting review` : ""}
        </Row>
      </dl>
    </article>
  );
}
