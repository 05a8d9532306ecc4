"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { Result } from "@/lib/errors";

export interface SignInLockRow {
  key: string;
  kind: "account" | "address";
  subject: string;
  failures: number;
  /** Already formatted for display. */
  lockedUntil: string;
}

/** Accounts and client addresses locked after repeated failed sign-ins, each with its Unlock button. */
export function SignInLocks({ locks, liftLock }: { locks: SignInLockRow[]; liftLock: (input: { key: string }) => Promise<Result<unknown>> }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  if (locks.length === 0 && !message) return <p className="text-sm text-slate-600">No account or address is locked.</p>;
  return (
    <div>
      {message && (
        <p role={message.ok ? "status" : "alert"} className={`mb-3 rounded-md px-3 py-2 text-sm ${message.ok ? "bg-emerald-50 text-emerald-800" : "bg-red-50 text-red-800"}`}>
          {message.text}
        </p>
      )}
      {locks.length > 0 && (
        <table className="w-full text-left text-sm" aria-label="Sign-in locks">
          <thead className="text-xs uppercase text-slate-500">
            <tr>
              <th className="py-2">Locked</th>
              <th>Failed attempts</th>
              <th>Until</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {locks.map((lock) => (
              <tr key={lock.key} className="border-t border-slate-100">
                <td className="py-2">
                  {lock.kind === "account" ? "Account" : "Address"} <code>{lock.subject}</code>
                </td>
                <td>{lock.failures}</td>
                <td>{lock.lockedUntil}</td>
                <td className="text-right">
                  <button
                    type="button"
                    disabled={pending}
                    onClick={() =>
                      startTransition(async () => {
                        const result = await liftLock({ key: lock.key });
                        setMessage(result.ok ? { ok: true, text: `Unlocked ${lock.subject}: it may sign in again.` } : { ok: false, text: result.error.message });
                        router.refresh();
                      })
                    }
                    className="rounded-md border border-slate-300 px-3 py-1 text-sm font-medium text-slate-700 hover:bg-slate-100 disabled:opacity-50"
                  >
                    Unlock
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
