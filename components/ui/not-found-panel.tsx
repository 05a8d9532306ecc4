import Link from "next/link";

/** The 404 a person sees: what is missing and where to go instead. */
export function NotFoundPanel({ signedIn }: { signedIn: boolean }) {
  return (
    <div role="alert" className="mx-auto mt-10 max-w-lg rounded-lg border border-slate-200 bg-white p-8 text-center shadow-sm">
      <p className="text-sm font-semibold uppercase tracking-wide text-brand-600">404</p>
      <h1 className="mt-1 text-xl font-semibold text-slate-900">This page does not exist</h1>
      <p className="mt-2 text-sm text-slate-600">
        The address may be mistyped, or what it pointed to (a deployment, an environment, a check) is not there any more.
      </p>
      <div className="mt-5 flex justify-center gap-3 text-sm">
        <Link href="/" className="rounded-md bg-brand-600 px-3 py-1.5 font-medium text-white">
          {signedIn ? "Back to the Overview" : "Go to the console"}
        </Link>
        {signedIn && (
          <Link href="/deployments" className="rounded-md border border-slate-300 px-3 py-1.5 font-medium text-slate-800">
            Deployments
          </Link>
        )}
      </div>
    </div>
  );
}
