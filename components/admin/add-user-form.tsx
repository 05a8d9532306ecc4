"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { ROLE_LABELS, ROLES, type Role } from "@/lib/auth/roles";
import type { ErrorPayload, Result } from "@/lib/errors";

interface Props {
  createUser: (input: { email: string; name: string; role: Role; password?: string }) => Promise<Result<{ email: string }>>;
}

const input = "mt-1 w-full rounded-md border border-slate-300 px-3 py-2 text-sm";

export function AddUserForm({ createUser }: Props) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [created, setCreated] = useState<string | null>(null);

  return (
    <form
      aria-label="Add a user"
      className="grid gap-3 md:grid-cols-5 md:items-end"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const data = new FormData(form);
        startTransition(async () => {
          const result = await createUser({
            email: String(data.get("email")),
            name: String(data.get("name")),
            role: String(data.get("role")) as Role,
            password: String(data.get("password") ?? ""),
          });
          if (result.ok) {
            setError(null);
            setCreated(result.data.email);
            form.reset();
            router.refresh();
          } else {
            setCreated(null);
            setError(result.error);
          }
        });
      }}
    >
      <label className="text-sm font-medium text-slate-700">
        Name
        <input name="name" required className={input} />
      </label>
      <label className="text-sm font-medium text-slate-700">
        Email
        <input name="email" type="email" required className={input} />
      </label>
      <label className="text-sm font-medium text-slate-700">
        Role
        <select name="role" defaultValue="engineer" className={input}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </select>
      </label>
      <label className="text-sm font-medium text-slate-700">
        Password <span className="font-normal text-slate-500">(empty: single sign-on only)</span>
        <input name="password" type="password" autoComplete="new-password" className={input} />
      </label>
      <button type="submit" disabled={pending} className="rounded-md bg-slate-900 px-4 py-2 text-sm font-medium text-white disabled:opacity-50">
        {pending ? "Adding…" : "Add user"}
      </button>
      {error && (
        <div role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 md:col-span-5">
          {error.message}
          {error.fields && (
            <ul className="list-disc pl-5">
              {Object.entries(error.fields).map(([field, messages]) => (
                <li key={field}>
                  {field}: {messages.join(", ")}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {created && (
        <p role="status" className="text-sm text-emerald-800 md:col-span-5">
          Added {created}.
        </p>
      )}
    </form>
  );
}
