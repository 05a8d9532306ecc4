/**
 * Evidence anyone can verify: the bundle's files are listed with their SHA-256 in a statement that
 * is signed with Ed25519 (node:crypto). The private key never enters a bundle: it is configured
 * (EVIDENCE_SIGNING_KEY or EVIDENCE_SIGNING_KEY_FILE, PKCS#8 PEM) or generated once and kept in the
 * console's store. Whoever edits a file and recomputes SHA256SUMS and the manifest still cannot
 * produce a matching signature, and `verifyEvidenceBundle` names the file that changed.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { unzipSync } from "fflate";
import { eq } from "drizzle-orm";
import { canonicalJson } from "../canonical-json";
import { AppError } from "../errors";
import type { StoreExecutor } from "../store/db";
import { signingKeys } from "../store/schema";

export const SIGNATURE_FILE = "signature.json";

export interface SigningKey {
  /** `ed25519:` + the first 32 hex digits of the SHA-256 of the public key (SPKI DER). */
  keyId: string;
  publicKeyPem: string;
  privateKey: KeyObject;
}

export interface SignedStatement {
  environment: string;
  period: { from: string; to: string };
  generatedAt: string;
  generatedBy: string | null;
  files: { name: string; bytes: number; sha256: string }[];
}

export interface SignatureFile {
  algorithm: "Ed25519";
  keyId: string;
  /** What was signed, as canonical JSON of this object. */
  statement: SignedStatement;
  signature: string;
  note: string;
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

export function keyIdOf(publicKey: KeyObject): string {
  return `ed25519:${sha256(publicKey.export({ type: "spki", format: "der" })).slice(0, 32)}`;
}

function fromPrivatePem(pem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new AppError("unavailable", "The configured evidence signing key is not a PEM private key (EVIDENCE_SIGNING_KEY / EVIDENCE_SIGNING_KEY_FILE).");
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new AppError("unavailable", "The configured evidence signing key must be an Ed25519 key (openssl genpkey -algorithm ed25519).");
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), privateKey };
}

/** The configured key, or the store's (generated on first use; concurrent first uses agree on one). */
export async function evidenceSigningKey(db: StoreExecutor, configuredPem: string | null): Promise<SigningKey> {
  if (configuredPem) return fromPrivatePem(configuredPem);
  const [existing] = await db.select().from(signingKeys).where(eq(signingKeys.algorithm, "Ed25519")).orderBy(signingKeys.createdAt).limit(1);
  if (existing) return fromPrivatePem(existing.privateKey);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  await db
    .insert(signingKeys)
    .values({
      id: keyIdOf(publicKey),
      algorithm: "Ed25519",
      publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
      privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    })
    .onConflictDoNothing();
  return evidenceSigningKey(db, null);
}

/** The signature file for a bundle's files (every file but the signature itself). */
export function signBundle(key: SigningKey, header: Omit<SignedStatement, "files">, files: Record<string, Uint8Array>): SignatureFile {
  const statement: SignedStatement = {
    ...header,
    files: Object.entries(files)
      .filter(([name]) => name !== SIGNATURE_FILE)
      .map(([name, data]) => ({ name, bytes: data.length, sha256: sha256(data) })),
  };
  return {
    algorithm: "Ed25519",
    keyId: key.keyId,
    statement,
    signature: sign(null, Buffer.from(canonicalJson(statement)), key.privateKey).toString("base64"),
    note: "Verify with `npx migration-console evidence verify FILE --public-key KEY.pem`, using the console's public key (Compliance page, or `evidence public-key`), never a key found inside the bundle.",
  };
}

export interface BundleProblem {
  file: string;
  problem: string;
}

export interface BundleVerification {
  ok: boolean;
  keyId: string | null;
  /** The statement's files that verified. */
  verified: string[];
  problems: BundleProblem[];
  /** sha256 of the manifest as exported (recorded in the audit chain at export). */
  manifestSha256: string | null;
}

/** Checks a bundle against the console's public key: the signature, then every file it lists. */
export function verifyEvidenceBundle(zip: Uint8Array, publicKeyPem: string): BundleVerification {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch {
    return { ok: false, keyId: null, verified: [], problems: [{ file: "(bundle)", problem: "is not a readable zip file" }], manifestSha256: null };
  }
  const fail = (file: string, problem: string): BundleVerification => ({ ok: false, keyId: null, verified: [], problems: [{ file, problem }], manifestSha256: null });
  const raw = files[SIGNATURE_FILE];
  if (!raw) return fail(SIGNATURE_FILE, "is missing: the bundle is not signed");
  let signature: SignatureFile;
  try {
    signature = JSON.parse(Buffer.from(raw).toString("utf8")) as SignatureFile;
  } catch {
    return fail(SIGNATURE_FILE, "is not valid JSON");
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(publicKeyPem);
  } catch {
    throw new AppError("invalid_input", "The public key is not a PEM public key.");
  }
  const keyId = keyIdOf(publicKey);
  if (signature.keyId !== keyId) return { ...fail(SIGNATURE_FILE, `was signed by key ${signature.keyId}, not by this console's key ${keyId}`), keyId: signature.keyId };
  const valid =
    typeof signature.signature === "string" &&
    signature.statement !== undefined &&
    verify(null, Buffer.from(canonicalJson(signature.statement)), publicKey, Buffer.from(signature.signature, "base64"));
  if (!valid) return { ...fail(SIGNATURE_FILE, "does not match its signature: the list of files and their sums was edited after export"), keyId };

  const problems: BundleProblem[] = [];
  const verified: string[] = [];
  const listed = new Set(signature.statement.files.map((f) => f.name));
  for (const f of signature.statement.files) {
    const data = files[f.name];
    if (!data) problems.push({ file: f.name, problem: "is missing" });
    else if (sha256(data) !== f.sha256) problems.push({ file: f.name, problem: `was changed after export (SHA-256 ${sha256(data).slice(0, 16)}…, signed ${f.sha256.slice(0, 16)}…)` });
    else verified.push(f.name);
  }
  for (const name of Object.keys(files)) if (name !== SIGNATURE_FILE && !listed.has(name)) problems.push({ file: name, problem: "was added after export" });
  const manifest = signature.statement.files.find((f) => f.name === "manifest.json");
  return { ok: problems.length === 0, keyId, verified, problems, manifestSha256: manifest?.sha256 ?? null };
}
