"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ErrorPayload, Result } from "@/lib/errors";

interface Props {
  /** `unreachable`: why the environment's state is unknown (it cannot be read now). */
  environments: { name: string; label: string; current: string | null; pending: number; unreachable: string | null }[];
  tags: string[];
  /** The backfills declared in db/backfills. */
  backfills: { name: string; description: string; table: string }[];
  create: (input: { environment: string; kind: "apply" | "backfill"; to?: string; backfill?: string; declineBackup?: string }) => Promise<Result<{ id: string; existing?: boolean }>>;
}

const field = "mt-1 w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm";

export function NewDeploymentForm({ environments, tags, backfills, create }: Props) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [kind, setKind] = useState<"apply" | "backfill">("apply");
  const [backfill, setBackfill] = useState(backfills[0]?.name ?? "");

  return (
    <form
      aria-label="New deployment"
      className="max-w-xl space-y-4"
      onSubmit={(e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        startTransition(async () => {
          const environment = String(data.get("environment"));
          const result =
            kind === "backfill"
              ? await create({ environment, kind, backfill })
              : await create({ environment, kind, to: String(data.get("to") ?? ""), declineBackup: data.get("skipBackup") ? String(data.get("declineBackup") ?? "") : "" });
          if (result.ok) router.push(`/deployments/${result.data.id}${result.data.existing ? "?existing=1" : ""}`);
          else setError(result.error);
        });
      }}
    >
      <label className="block text-sm font-medium text-slate-700">
        Environment
        <select name="environment" className={field} defaultValue={environments.find((e) => e.pending > 0)?.name}>
          {environments.map((e) => (
            <option key={e.name} value={e.name}>
              {e.unreachable ? `${e.label} (cannot be read: ${e.unreachable})` : `${e.label} (at ${e.current ?? "nothing applied"}, ${e.pending} pending)`}
            </option>
          ))}
        </select>
      </label>
      <fieldset className="text-sm text-slate-700">
        <legend className="font-medium">What to deploy</legend>
        <label className="mr-4 inline-flex items-center gap-1.5">
          <input type="radio" name="kind" value="apply" checked={kind === "apply"} onChange={() => setKind("apply")} /> Migrations
        </label>
        <label className="inline-flex items-center gap-1.5">
          <input type="radio" name="kind" value="backfill" checked={kind === "backfill"} onChange={() => setKind("backfill")} disabled={backfills.length === 0} /> A backfill (batched data change)
        </label>
      </fieldset>
      {kind === "backfill" ? (
        <div>
          <label className="block text-sm font-medium text-slate-700">
            Backfill
            <select name="backfill" className={field} value={backfill} onChange={(e) => setBackfill(e.target.value)}>
              {backfills.map((b) => (
                <option key={b.name} value={b.name}>
                  {b.name} ({b.table})
                </option>
              ))}
            </select>
          </label>
          <p className="mt-1 text-xs text-slate-600">{backfills.find((b) => b.name === backfill)?.description}</p>
        </div>
      ) : (
        <>
        <label className="block text-sm font-medium text-slate-700">
          Target migration
          <select name="to" className={field} defaultValue="">
            <option value="">The latest ({tags.at(-1)})</option>
            {tags.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <details className="text-sm text-slate-700">
          <summary className="cursor-pointer">Backup of destroyed data</summary>
          <p className="mt-2 text-xs text-slate-600">
            Data a migration drops, truncates, deletes or rewrites is copied and checked on the target before it runs, and a rollback puts it back. Declining it is recorded in the plan&apos;s audit trail and the run log.
          </p>
          <label className="mt-2 flex items-center gap-2">
            <input type="checkbox" name="skipBackup" /> Do not back up the data this deployment destroys
          </label>
          <label className="mt-2 block text-sm font-medium text-slate-700">
            Why (required when declining)
            <input name="declineBackup" className={field} maxLength={500} />
          </label>
        </details>
        </>
      )}
      <p className="text-xs text-slate-600">
        The console plans it now: lint of every statement, a rehearsal on a throw-away copy of the target&apos;s schema, and the schema diff. Approvals are bound to that plan.
      </p>
      <button type="submit" disabled={pending} aria-busy={pending} className="rounded-md bg-slate-900 px-4 py-2 text-sm font-medium text-white disabled:opacity-50">
        {pending ? "Planning…" : "Plan deployment"}
      </button>
      {error && (
        <div role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-error-code={error.code}>
          <p>{error.message}</p>
          {error.hint && <p className="mt-1 font-medium">{error.hint}</p>}
        </div>
      )}
    </form>
  );
}
