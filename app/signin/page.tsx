import { redirect } from "next/navigation";
import { connection } from "next/server";
import { SignInForm } from "@/components/auth/sign-in-form";
import { DEMO_PASSWORD, DEMO_USERS } from "@/lib/auth/demo-users";
import { ROLE_LABELS } from "@/lib/auth/roles";
import { runtime } from "@/app/_server/runtime";
import { currentActor } from "@/app/_server/session";

export const metadata = { title: "Sign in" };

const ERRORS: Record<string, string> = {
  AccessDenied: "That account is not allowed in. An admin must add your email first.",
  CredentialsSignin: "That email and password do not match an active user.",
  SessionEnded: "Your session ended (unused for too long, or at its maximum length). Sign in again.",
};

/** Only same-site paths: an open redirect after sign-in would be a phishing aid. */
function safeCallback(value: string | undefined): string {
  return value && value.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string; error?: string }> }) {
  await connection();
  const { config } = runtime();
  const params = await searchParams;
  const callbackUrl = safeCallback(params.callbackUrl);
  // Only a live console session skips sign-in (an ended one must not bounce back and forth).
  if (await currentActor()) redirect(callbackUrl);

  return (
    <main className="mx-auto flex min-h-screen max-w-md flex-col justify-center px-6">
      <h1 className="text-2xl font-semibold">Migration Console</h1>
      <p className="mb-6 mt-1 text-sm text-slate-600">Sign in to plan, approve and verify database changes.</p>
      <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <SignInForm
          callbackUrl={callbackUrl}
          oidcName={config.oidc?.name ?? null}
          initialError={params.error ? (ERRORS[params.error] ?? "Sign-in failed. Try again.") : null}
        />
      </div>
      {config.demo && (
        <section aria-label="Demo sign-ins" className="mt-6 rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900">
          <h2 className="font-semibold">Demo sign-ins (password: {DEMO_PASSWORD})</h2>
          <ul className="mt-2 space-y-0.5">
            {DEMO_USERS.map((u) => (
              <li key={u.email}>
                <code>{u.email}</code> — {ROLE_LABELS[u.role]}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
