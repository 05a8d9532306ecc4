import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../lib/config/env";
import { redactUrl } from "../../lib/config/environments";

const root = path.resolve(import.meta.dirname, "../..");
const valid = {
  CONSOLE_DATABASE_URL: "postgres://console:s3cret@db.internal:5432/console",
  NEXTAUTH_SECRET: "x".repeat(40),
  TARGET_STAGING_URL: "postgres://app:hunter2@staging.internal/health",
};

function registryFile(content: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-config-"));
  const file = path.join(dir, "environments.json");
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

describe("configuration", () => {
  it("reads the registry in promotion order, with default gate policies and URLs from the named variables", () => {
    const config = loadConfig(valid, root);
    expect(config.registry.environments.map((e) => e.name)).toEqual(["local", "staging", "production"]);
    expect(config.registry.byName("staging")).toMatchObject({ position: 1, url: valid.TARGET_STAGING_URL, gates: { releaseManagerApprovals: 1 } });
    expect(config.registry.byName("production")?.gates).toMatchObject({ releaseManagerApprovals: 2, promotionFrom: "staging" });
    expect(config.registry.byName("local")?.url).toBeNull();
    expect(config.oidc).toBeNull();
  });

  it("lists every problem at once, readably", () => {
    try {
      loadConfig({ NEXTAUTH_SECRET: "short", OIDC_ISSUER: "https://id.example.com", CONSOLE_ENVIRONMENTS_FILE: "/nonexistent.json" }, root);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const message = (e as Error).message;
      expect(message).toContain("CONSOLE_DATABASE_URL: is required");
      expect(message).toContain("NEXTAUTH_SECRET: must be at least 32 characters");
      expect(message).toContain("OIDC needs all of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET");
      expect(message).toContain("/nonexistent.json");
    }
  });

  it("refuses a registry whose promotion chain names an unknown environment", () => {
    const file = registryFile({ environments: [{ name: "prod", urlEnv: "PROD_URL", gates: { promotionFrom: "stage" } }] });
    expect(() => loadConfig({ ...valid, CONSOLE_ENVIRONMENTS_FILE: file }, root)).toThrow(/unknown environment "stage"/);
  });

  it("enables OIDC only when all of its variables are set", () => {
    const config = loadConfig({ ...valid, OIDC_ISSUER: "https://id.example.com/realms/x", OIDC_CLIENT_ID: "console", OIDC_CLIENT_SECRET: "s" }, root);
    expect(config.oidc).toMatchObject({ issuer: "https://id.example.com/realms/x", name: "Single sign-on" });
  });

  it("never shows a database password", () => {
    expect(redactUrl(valid.TARGET_STAGING_URL)).toBe("postgres://app:****@staging.internal/health");
    expect(redactUrl("postgres://u:p@h/db?password=x&sslmode=require")).not.toContain("password=x");
  });
});
