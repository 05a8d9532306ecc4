"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { ROLE_LABELS, ROLES, type Role } from "@/lib/auth/roles";
import type { Result } from "@/lib/errors";
import { Badge } from "../ui/badge";

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  isActive: boolean;
  hasPassword: boolean;
}

interface Props {
  users: UserRow[];
  currentUserId: string;
  changeRole: (input: { userId: string; role: Role }) => Promise<Result<unknown>>;
  setActive: (input: { userId: string; isActive: boolean }) => Promise<Result<unknown>>;
}

export function UsersTable({ users, currentUserId, changeRole, setActive }: Props) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // A role is powerful: the change waits for an explicit confirmation naming who and what.
  const [proposal, setProposal] = useState<{ user: UserRow; role: Role } | null>(null);

  const run = (call: () => Promise<Result<unknown>>, done: string) =>
    startTransition(async () => {
      const result = await call();
      setError(result.ok ? null : result.error.message);
      setSaved(result.ok ? done : null);
      router.refresh();
    });

  return (
    <div>
      {error && (
        <p role="alert" className="mb-3 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      )}
      {saved && (
        <p role="status" className="mb-3 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
          {saved}
        </p>
      )}
      {proposal && (
        <div role="alertdialog" aria-label="Confirm the role change" className="mb-3 flex flex-wrap items-center gap-3 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          <span>
            Change the role of {proposal.user.name} ({proposal.user.email}) from {ROLE_LABELS[proposal.user.role]} to {ROLE_LABELS[proposal.role]}? It applies to their next request.
          </span>
          <button
            type="button"
            disabled={pending}
            onClick={() => {
              const { user, role } = proposal;
              setProposal(null);
              run(() => changeRole({ userId: user.id, role }), `${user.email} is now ${ROLE_LABELS[role]}.`);
            }}
            className="rounded-md bg-amber-700 px-3 py-1 font-medium text-white disabled:opacity-50"
          >
            Change role
          </button>
          <button type="button" onClick={() => setProposal(null)} className="rounded-md border border-amber-400 px-3 py-1 font-medium">
            Keep {ROLE_LABELS[proposal.user.role]}
          </button>
        </div>
      )}
      <table className="w-full text-left text-sm">
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th className="py-2">Name</th>
            <th>Email</th>
            <th>Sign-in</th>
            <th>Role</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {users.map((u) => (
            <tr key={u.id}>
              <td className="py-2 font-medium">
                {u.name} {u.id === currentUserId && <span className="text-xs text-slate-500">(you)</span>}
              </td>
              <td>{u.email}</td>
              <td>{u.hasPassword ? "Password" : "Single sign-on"}</td>
              <td>
                <label className="sr-only" htmlFor={`role-${u.id}`}>
                  Role of {u.email}
                </label>
                <select
                  id={`role-${u.id}`}
                  value={proposal?.user.id === u.id ? proposal.role : u.role}
                  disabled={pending}
                  onChange={(e) => {
                    const role = e.target.value as Role;
                    setSaved(null);
                    setProposal(role === u.role ? null : { user: u, role });
                  }}
                  className="rounded-md border border-slate-300 bg-white px-2 py-1"
                >
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {ROLE_LABELS[r]}
                    </option>
                  ))}
                </select>
              </td>
              <td className="space-x-2">
                {u.isActive ? <Badge tone="ok">Active</Badge> : <Badge tone="neutral">Deactivated</Badge>}
                <button
                  type="button"
                  disabled={pending}
                  onClick={() => run(() => setActive({ userId: u.id, isActive: !u.isActive }), `${u.email} is ${u.isActive ? "deactivated" : "active again"}.`)}
                  className="text-xs font-medium text-brand-700 underline disabled:opacity-50"
                >
                  {u.isActive ? "Deactivate" : "Reactivate"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
