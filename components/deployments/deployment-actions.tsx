"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { Result } from "@/lib/errors";
import type { DeploymentAction, ShownDecision } from "@/lib/gates/rules";

type Call = (input: { id: string; comment?: string }) => Promise<Result<{ id: string }>>;
type Calls = Record<Exclude<DeploymentAction, "reject">, Call> & { reject: (input: { id: string; reason: string }) => Promise<Result<{ id: string }>> };

/** The actions that record the reviewer's comment (reject requires one: its reason). */
const TAKES_COMMENT = new Set<DeploymentAction>(["approve", "signoff", "cancel"]);

const LABELS: Record<DeploymentAction, string> = {
  approve: "Approve",
  signoff: "Compliance sign-off",
  reject: "Reject",
  apply: "Apply",
  cancel: "Cancel",
  rollback: "Roll back",
  replan: "Recompute plan",
};

const ORDER: DeploymentAction[] = ["approve", "signoff", "apply", "reject", "cancel", "replan", "rollback"];

export function DeploymentActions({ id, decisions, calls }: { id: string; decisions: Record<DeploymentAction, ShownDecision>; calls: Calls }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState("");
  const [comment, setComment] = useState("");
  const canComment = [...TAKES_COMMENT].some((a) => decisions[a].allowed);

  const run = (action: DeploymentAction) =>
    startTransition(async () => {
      const result =
        action === "reject" ? await calls.reject({ id, reason }) : await calls[action](TAKES_COMMENT.has(action) && comment.trim() ? { id, comment: comment.trim() } : { id });
      if (!result.ok) {
        setError(result.error.hint ? `${result.error.message} ${result.error.hint}` : result.error.message);
        return;
      }
      setError(null);
      setRejecting(false);
      setComment("");
      if (result.data.id !== id) router.push(`/deployments/${result.data.id}`);
      else router.refresh();
    });

  return (
    <div className="space-y-3">
      {canComment && (
        <label className="block text-sm font-medium text-slate-700">
          Comment (optional; kept with your approval, sign-off or cancellation in the timeline and the audit log)
          <textarea value={comment} onChange={(e) => setComment(e.target.value)} maxLength={1000} rows={2} className="mt-1 w-full rounded-md border border-slate-300 p-2 text-sm" />
        </label>
      )}
      <div className="flex flex-wrap gap-2">
        {ORDER.map((action) => {
          const decision = decisions[action];
          const primary = action === "approve" || action === "apply" || action === "signoff";
          return (
            <div key={action} className="flex flex-col">
              <button
                type="button"
                disabled={!decision.allowed || pending}
                title={decision.reason ?? undefined}
                aria-describedby={decision.reason ? `why-${action}` : undefined}
                onClick={() => (action === "reject" ? setRejecting(true) : run(action))}
                className={`rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-40 ${
                  primary ? "bg-slate-900 text-white" : "border border-slate-300 bg-white text-slate-800"
                }`}
              >
                {LABELS[action]}
              </button>
            </div>
          );
        })}
      </div>
      <ul className="space-y-0.5 text-xs text-slate-600" aria-label="Why some actions are unavailable">
        {ORDER.filter((a) => !decisions[a].allowed && decisions[a].reason).map((a) => (
          <li key={a} id={`why-${a}`}>
            <span className="font-medium">{LABELS[a]}:</span> {decisions[a].reason}
          </li>
        ))}
      </ul>
      {rejecting && (
        <form
          aria-label="Reject the deployment"
          className="space-y-2 rounded-md border border-red-200 bg-red-50 p-3"
          onSubmit={(e) => {
            e.preventDefault();
            run("reject");
          }}
        >
          <label className="block text-sm font-medium text-red-900">
            Why is it rejected?
            <textarea value={reason} onChange={(e) => setReason(e.target.value)} required minLength={3} className="mt-1 w-full rounded-md border border-red-300 p-2 text-sm" />
          </label>
          <button type="submit" disabled={pending} className="rounded-md bg-red-700 px-3 py-1.5 text-sm font-medium text-white">
            Reject deployment
          </button>
        </form>
      )}
      {error && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      )}
    </div>
  );
}
