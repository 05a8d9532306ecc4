/**
 * Evidence anyone can verify: `evidence export` writes a signed bundle (the same builder as the
 * page), its manifest hash is in the audit chain, `evidence verify` passes it, and fails it, naming
 * the file, once a file was edited, even with SHA256SUMS and the manifest recomputed.
 */
import { execFile } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { desc, eq } from "drizzle-orm";
import { openStore } from "../../lib/store/db";
import { auditEvents, signingKeys } from "../../lib/store/schema";
import { adminUrl, freshDatabase, shadowAdminUrl, type TestDatabase } from "../support/databases";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
let store: TestDatabase;
let target: TestDatabase;
let env: Record<string, string>;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evidence-"));

async function cli(args: string[], extra: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(root, "cli/bin.cjs"), ...args], { cwd: root, env: { ...process.env, ...env, ...extra }, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** What a forger does: edit one file, then recompute the manifest and SHA256SUMS so they agree. */
function tamper(zipFile: string, file: string, edit: (text: string) => string, out: string) {
  const files = unzipSync(fs.readFileSync(zipFile));
  files[file] = strToU8(edit(strFromU8(files[file]!)));
  const manifest = JSON.parse(strFromU8(files["manifest.json"]!)) as { files: { name: string; bytes: number; sha256: string }[] };
  for (const f of manifest.files) if (files[f.name]) Object.assign(f, { bytes: files[f.name]!.length, sha256: sha256(files[f.name]!) });
  files["manifest.json"] = strToU8(JSON.stringify(manifest, null, 2));
  files["SHA256SUMS"] = strToU8(Object.entries(files).filter(([n]) => n !== "SHA256SUMS" && n !== "signature.json").map(([n, d]) => `${sha256(d)}  ${n}`).join("\n") + "\n");
  fs.writeFileSync(out, zipSync(files));
}

beforeAll(async () => {
  store = await freshDatabase({ prefix: "ev_store", template: inject("storeTemplate") });
  target = await freshDatabase({ prefix: "ev_local" });
  env = {
    CONSOLE_DATABASE_URL: store.url,
    CONSOLE_DEMO: "1",
    NEXTAUTH_SECRET: "x".repeat(40),
    SHADOW_DATABASE_URL: shadowAdminUrl(),
    TARGET_LOCAL_URL: target.url,
    TARGET_STAGING_URL: target.url,
    TARGET_PRODUCTION_URL: target.url,
    MIGRATION_CONSOLE_EMAIL: "compliance@demo.local",
    MIGRATION_CONSOLE_PASSWORD: "console-demo",
  };
}, 120_000);
afterAll(async () => {
  await store?.drop();
  await target?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("signed evidence", () => {
  it("exports a signed bundle whose manifest hash is audited, verifies it, and names the file edited after export", async () => {
    const bundle = path.join(dir, "bundle.zip");
    const today = new Date().toISOString().slice(0, 10);
    const exported = await cli(["evidence", "export", "--env", "local", "--from", "2020-01-01", "--to", today, "--out", bundle, "--json"]);
    expect(exported.code, exported.stderr).toBe(0);
    const result = JSON.parse(exported.stdout) as { keyId: string; manifestSha256: string; publicKey: string };
    expect(result.keyId).toMatch(/^ed25519:[0-9a-f]{32}$/);

    const files = unzipSync(fs.readFileSync(bundle));
    expect(Object.keys(files).sort()).toEqual(["SHA256SUMS", "audit.json", "backups.json", "deployments.json", "manifest.json", "report.html", "signature.json", "verification.json"]);
    // The private key is nowhere in the bundle.
    const db = openStore(store.url, { max: 1 });
    try {
      const [key] = await db.db.select().from(signingKeys);
      const privateBody = key!.privateKey.split("\n").slice(1, -2).join("");
      for (const [name, data] of Object.entries(files)) expect(strFromU8(data), name).not.toContain(privateBody);
      expect(sha256(files["manifest.json"]!)).toBe(result.manifestSha256);
      const [audited] = await db.db.select().from(auditEvents).where(eq(auditEvents.action, "evidence.exported")).orderBy(desc(auditEvents.id)).limit(1);
      expect(audited!.details).toMatchObject({ manifestSha256: result.manifestSha256, keyId: result.keyId });
    } finally {
      await db.close();
    }

    const keyFile = path.join(dir, "console.pem");
    expect((await cli(["evidence", "public-key", "--out", keyFile])).code).toBe(0);
    expect(fs.readFileSync(keyFile, "utf8")).toBe(result.publicKey);

    const intact = await cli(["evidence", "verify", bundle, "--public-key", keyFile]);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/intact/);
    // Without --public-key: the console's own key, from its store.
    expect((await cli(["evidence", "verify", bundle])).code).toBe(0);

    const edited = path.join(dir, "edited.zip");
    tamper(bundle, "report.html", (html) => html.replace("Compliance evidence", "Compliance evidence (all green)"), edited);
    const refused = await cli(["evidence", "verify", edited, "--public-key", keyFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/report\.html was changed after export/);
    expect(refused.stderr).toMatch(/manifest\.json was changed after export/);
    expect(refused.stderr).not.toMatch(/verification\.json/);

    // Re-signing with a key of one's own does not help: it is not the console's key.
    const forged = path.join(dir, "forged.zip");
    const other = generateKeyPairSync("ed25519");
    const { signBundle, keyIdOf } = await import("../../lib/verify/evidence-signing");
    const parts = unzipSync(fs.readFileSync(edited));
    delete parts["signature.json"];
    const signature = signBundle({ keyId: keyIdOf(other.publicKey), privateKey: other.privateKey, publicKeyPem: "" }, { environment: "local", period: { from: "2020-01-01", to: today }, generatedAt: new Date().toISOString(), generatedBy: "forger" }, parts);
    parts["signature.json"] = strToU8(JSON.stringify(signature));
    fs.writeFileSync(forged, zipSync(parts));
    const forgedResult = await cli(["evidence", "verify", forged, "--public-key", keyFile]);
    expect(forgedResult.code).toBe(1);
    expect(forgedResult.stderr).toMatch(/signature\.json was signed by key ed25519:[0-9a-f]+, not by this console's key/);
  }, 180_000);

  it("refuses an export to a role that may not export evidence, as the page does", async () => {
    const res = await cli(["evidence", "export", "--env", "local", "--from", "2020-01-01", "--to", "2020-01-02", "--out", path.join(dir, "x.zip")], { MIGRATION_CONSOLE_EMAIL: "engineer@demo.local" });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/compliance officer or admin/);
    expect(fs.existsSync(path.join(dir, "x.zip"))).toBe(false);
  }, 90_000);
});
