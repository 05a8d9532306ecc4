"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";

const field = "mt-1 w-full rounded-md border border-slate-300 px-3 py-2 text-sm";

export function SignInForm({ callbackUrl, oidcName, initialError }: { callbackUrl: string; oidcName: string | null; initialError: string | null }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(initialError);

  return (
    <div className="space-y-4">
      <form
        aria-label="Sign in"
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          startTransition(async () => {
            const result = await signIn("credentials", {
              email: String(data.get("email")),
              password: String(data.get("password")),
              redirect: false,
              callbackUrl,
            });
            if (result?.ok && !result.error) {
              router.replace(callbackUrl);
              router.refresh();
            } else {
              // A throttled or locked attempt says so and for how long; anything else is the generic answer.
              setError(result?.error && result.error !== "CredentialsSignin" ? result.error : "That email and password do not match an active user.");
            }
          });
        }}
      >
        <label className="block text-sm font-medium text-slate-700">
          Email
          <input name="email" type="email" autoComplete="username" required className={field} />
        </label>
        <label className="block text-sm font-medium text-slate-700">
          Password
          <input name="password" type="password" autoComplete="current-password" required className={field} />
        </label>
        {error && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
            {error}
          </p>
        )}
        <button type="submit" disabled={pending} className="w-full rounded-md bg-slate-900 px-4 py-2 text-sm font-medium text-white disabled:opacity-50">
          {pending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {oidcName && (
        <button
          type="button"
          onClick={() => signIn("oidc", { callbackUrl })}
          className="w-full rounded-md border border-slate-300 px-4 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100"
        >
          Sign in with {oidcName}
        </button>
      )}
    </div>
  );
}
