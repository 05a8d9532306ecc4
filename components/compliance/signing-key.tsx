/** The evidence signing key's public half: what an auditor verifies a bundle against. */
export function SigningKeyCard({ keyId, publicKeyPem }: { keyId: string; publicKeyPem: string }) {
  return (
    <section aria-label="Evidence signing key" className="rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm">
      <h2 className="font-semibold text-slate-800">Evidence signing key</h2>
      <p className="mt-1 text-slate-600">
        Every evidence bundle is signed with this console&apos;s Ed25519 key; the private half never leaves the console. Verify a bundle with{" "}
        <code className="rounded bg-slate-100 px-1">npx migration-console evidence verify FILE --public-key console-evidence.pem</code>, using this public key (also written by{" "}
        <code className="rounded bg-slate-100 px-1">evidence public-key --out FILE</code>), never one found inside a bundle.
      </p>
      <p className="mt-2">
        Key <span className="font-mono" data-testid="signing-key-id">{keyId}</span>
      </p>
      <details className="mt-1">
        <summary className="cursor-pointer text-slate-700">Public key (PEM)</summary>
        <pre className="mt-1 overflow-x-auto rounded bg-slate-50 p-2 text-xs">{publicKeyPem}</pre>
      </details>
    </section>
  );
}
