/**
 * `evidence export|verify|public-key`: the same signed bundle as the Compliance page, and its check.
 * Verification needs the console's public key: from --public-key FILE (offline, what an auditor
 * does) or, without it, from the console's own store; never from inside the bundle.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { AppError } from "../lib/errors";
import { buildEvidenceBundle } from "../lib/verify/evidence-bundle";
import { evidenceSigningKey, verifyEvidenceBundle } from "../lib/verify/evidence-signing";
import type { ConsoleSession } from "./console-session";
import type { Output } from "./deployments";

const EXPORT_ROLES = ["compliance_officer", "admin"];
const day = z.iso.date("a calendar day such as 2026-12-01");

export async function evidenceExportCommand(session: ConsoleSession, out: Output, options: { env?: string; from?: string; to?: string; out?: string }): Promise<number> {
  if (!options.env || !options.from || !options.to || !options.out) throw new AppError("invalid_input", "evidence export needs --env NAME --from DATE --to DATE --out FILE.");
  for (const [name, value] of [["--from", options.from], ["--to", options.to]] as const) {
    if (!day.safeParse(value).success) throw new AppError("invalid_input", `${name} must be a calendar day such as 2026-12-01, not "${value}".`);
  }
  const actor = await session.actor();
  if (!EXPORT_ROLES.includes(actor.role)) throw new AppError("forbidden", "Exporting evidence needs the compliance officer or admin role.");
  const bundle = await buildEvidenceBundle(
    session.store,
    session.config.registry,
    { environment: options.env, from: options.from, to: options.to },
    { id: actor.id, email: actor.email },
    { timeZone: session.config.timeZone, signingKeyPem: session.config.evidenceSigningKey },
  );
  const file = path.resolve(options.out);
  fs.writeFileSync(file, bundle.zip);
  out.print(
    { file, bytes: bundle.zip.length, keyId: bundle.keyId, manifestSha256: bundle.manifestSha256, publicKey: bundle.publicKeyPem },
    `Wrote ${file} (${bundle.zip.length} bytes), signed with ${bundle.keyId}; manifest sha256 ${bundle.manifestSha256} recorded in the audit log.\nCheck it with: migration-console evidence verify ${options.out} --public-key console-evidence.pem (write the key with: migration-console evidence public-key --out console-evidence.pem)`,
  );
  return 0;
}

export async function evidencePublicKeyCommand(session: ConsoleSession, out: Output, options: { out?: string }): Promise<number> {
  const key = await evidenceSigningKey(session.store.db, session.config.evidenceSigningKey);
  if (options.out) fs.writeFileSync(path.resolve(options.out), key.publicKeyPem);
  out.print({ keyId: key.keyId, publicKey: key.publicKeyPem, file: options.out ? path.resolve(options.out) : null }, options.out ? `Wrote the public key ${key.keyId} to ${options.out}` : `${key.keyId}\n${key.publicKeyPem.trimEnd()}`);
  return 0;
}

/** Exit 0 when the bundle is intact and signed by the console's key; 1 naming each file that is not. */
export async function evidenceVerifyCommand(file: string | undefined, publicKeyPem: () => Promise<string>, out: Output): Promise<number> {
  if (!file) throw new AppError("invalid_input", "evidence verify needs the bundle: evidence verify FILE [--public-key KEY.pem].");
  let zip: Buffer;
  try {
    zip = fs.readFileSync(path.resolve(file));
  } catch (e) {
    throw new AppError("not_found", `Cannot read ${file}: ${(e as Error).message}`);
  }
  const result = verifyEvidenceBundle(zip, await publicKeyPem());
  const text = result.ok
    ? `${file}: intact. ${result.verified.length} files match the signature of ${result.keyId}; manifest sha256 ${result.manifestSha256}.`
    : [`${file}: NOT intact.`, ...result.problems.map((p) => `  ${p.file} ${p.problem}`)].join("\n");
  if (out.json) process.stdout.write(`${JSON.stringify({ file, ...result }, null, 2)}\n`);
  else (result.ok ? process.stdout : process.stderr).write(`${text}\n`);
  return result.ok ? 0 : 1;
}
