import Link from "next/link";

export default function DeploymentNotFound() {
  return (
    <div role="alert" className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="text-lg font-semibold text-slate-900">404: no such deployment</h1>
      <p className="mt-1 text-sm text-slate-700">There is no deployment with that number or id. It may have been typed wrong; deployments are never deleted.</p>
      <Link href="/deployments" className="mt-3 inline-block text-sm text-brand-700 underline">
        All deployments
      </Link>
    </div>
  );
}
