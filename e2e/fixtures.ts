import fs from "node:fs";
import path from "node:path";
import { test as base, expect, type Page } from "@playwright/test";
import postgres from "postgres";
import { testPorts } from "../tests/support/ports";
import { DEMO_PASSWORD, DEMO_USERS } from "../lib/auth/demo-users";
import type { Role } from "../lib/auth/roles";

export function demoUser(role: Role) {
  const user = DEMO_USERS.find((u) => u.role === role);
  if (!user) throw new Error(`no demo user with role ${role}`);
  return user;
}

export async function signIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("signed-in-user")).toBeVisible();
}

export const test = base.extend<{ login: (role: Role) => Promise<{ email: string; name: string }> }>({
  login: async ({ page }, use) => {
    await use(async (role) => {
      const user = demoUser(role);
      await signIn(page, user.email);
      return user;
    });
  },
});

export { expect };

/** A superuser client on one of the e2e demo cluster's target databases (what a DBA by hand would use). */
export function targetDatabase(environment: string) {
  const password = fs.readFileSync(path.resolve(__dirname, "../.data/e2e/postgres/postgres-password"), "utf8").trim();
  return postgres(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${testPorts.e2ePg}/target_${environment}`, { max: 2, onnotice: () => {} });
}
