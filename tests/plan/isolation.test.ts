/**
 * A SHADOW_DATABASE_URL on the same PostgreSQL cluster as a target is refused, however the URL spells
 * the server: at start-up (configuration), before every rehearsal (the plan, and the rebuild behind
 * `status`'s drift check), and by the CLI.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/config/env";
import { AppError } from "../../lib/errors";
import { assertShadowIsolated } from "../../lib/plan/isolation";
import { adminUrl, freshDatabase, shadowAdminUrl, type TestDatabase } from "../support/databases";
import { plan, realCatalog } from "./support";

const root = path.resolve(__dirname, "../..");
let target: TestDatabase;
beforeAll(async () => {
  target = await freshDatabase({ prefix: "iso_target" });
});
afterAll(async () => target?.drop());

/** The same server under another name: localhost instead of 127.0.0.1, another database. */
function sameClusterOtherSpelling(url: string): string {
  const u = new URL(url);
  u.hostname = "localhost";
  u.pathname = "/postgres";
  return u.toString();
}

describe("a shadow server on a target's cluster", () => {
  it("is refused at start-up, naming the target and why, without the password", async () => {
    const shadow = sameClusterOtherSpelling(target.url);
    const error = await assertShadowIsolated(shadow, [
      { name: "local", url: null },
      { name: "staging", url: target.url },
    ]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/SHADOW_DATABASE_URL .* is on the same PostgreSQL cluster as the staging target \(same system_identifier\)/);
    expect(message).toMatch(/Roles, ALTER SYSTEM, databases and tablespaces are shared/);
    expect(message).not.toContain(new URL(target.url).password);
  });

  it("is accepted on another cluster, and when a target cannot be reached at start-up", async () => {
    await expect(assertShadowIsolated(shadowAdminUrl(), [{ name: "staging", url: target.url }])).resolves.toBeUndefined();
    const unreachable = target.url.replace(/:\d+\//, ":1/");
    await expect(assertShadowIsolated(adminUrl(18), [{ name: "production", url: unreachable }])).resolves.toBeUndefined();
  });

  it("is refused before a rehearsal, so nothing runs there", async () => {
    const catalog = await realCatalog();
    const error = await plan(target, catalog, { shadow: { adminUrl: sameClusterOtherSpelling(target.url) } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as Error).message).toMatch(/same PostgreSQL cluster as the staging target/);
  });

  it("is refused by the CLI's plan, exit 1 with the reason", async () => {
    const run = promisify(execFile);
    const result = await run(process.execPath, [path.join(root, "cli/bin.cjs"), "plan", "--database-url", target.url, "--json"], {
      cwd: root,
      env: { ...process.env, SHADOW_DATABASE_URL: sameClusterOtherSpelling(target.url), CONSOLE_DATABASE_URL: "" },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout) as { ok: boolean; error: { message: string } };
    expect(out.ok).toBe(false);
    expect(out.error.message).toMatch(/same PostgreSQL cluster/);
  });

  it("is refused before status rebuilds the implied schema for its drift check: drift unchecked, with the reason", async () => {
    const run = promisify(execFile);
    const result = await run(process.execPath, [path.join(root, "cli/bin.cjs"), "status", "--database-url", target.url, "--json"], {
      cwd: root,
      env: { ...process.env, SHADOW_DATABASE_URL: sameClusterOtherSpelling(target.url), CONSOLE_DATABASE_URL: "" },
    });
    const out = JSON.parse(result.stdout) as { ok: boolean; drift: { drifted: boolean | null; unchecked: string | null } };
    expect(out.ok).toBe(true);
    expect(out.drift.drifted).toBeNull();
    expect(out.drift.unchecked).toMatch(/same PostgreSQL cluster as the .* target \(same system_identifier\)/);
  });
});
