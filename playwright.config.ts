import fs from "node:fs";
import { defineConfig, devices } from "@playwright/test";
import { OIDC } from "./e2e/support/oidc-settings";
import { testPorts } from "./tests/support/ports";

/**
 * End-to-end journeys in Debian's Chromium against a production build on its own embedded
 * PostgreSQL (.data/e2e), on ports of their own (tests/support/ports.ts) so a running demo is left alone.
 */
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!fs.existsSync(chromium)) {
  throw new Error(
    `Chromium was not found at ${chromium}. Install Debian's build: \`apt-get update && apt-get install -y chromium\` ` +
      "(Playwright cannot download its own browsers here), or set CHROMIUM_PATH.",
  );
}

export const E2E_PORT = testPorts.e2eWeb;

export default defineConfig({
  testDir: "e2e",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  use: {
    baseURL: `http://localhost:${E2E_PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: chromium,
          args: ["--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        },
      },
    },
  ],
  webServer: [
    {
      command: "node --import tsx e2e/support/oidc-provider.ts",
      url: `${OIDC.issuer}/.well-known/openid-configuration`,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: "pipe",
      env: {
        OIDC_PORT: String(OIDC.port),
        OIDC_CLIENT_ID: OIDC.clientId,
        OIDC_CLIENT_SECRET: OIDC.clientSecret,
        OIDC_REDIRECT_URI: `http://localhost:${E2E_PORT}/api/auth/callback/oidc`,
      },
    },
    {
      // --fresh: every run starts from the seeded demo, so journeys that change state can run again.
      command: "node --import tsx scripts/start.ts --fresh",
      url: `http://localhost:${E2E_PORT}/api/health`,
      timeout: 240_000,
      reuseExistingServer: false,
      stdout: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
      env: {
        PORT: String(E2E_PORT),
        CONSOLE_DATA_DIR: ".data/e2e",
        EMBEDDED_PG_PORT: String(testPorts.e2ePg),
        EMBEDDED_SHADOW_PG_PORT: String(testPorts.e2eShadowPg),
        CONSOLE_DATABASE_URL: "",
        OIDC_ISSUER: OIDC.issuer,
        OIDC_CLIENT_ID: OIDC.clientId,
        OIDC_CLIENT_SECRET: OIDC.clientSecret,
        OIDC_NAME: OIDC.name,
      },
    },
  ],
});
