import { ROLE_LABELS, ROLES, type Role } from "../lib/auth/roles";
import { expect, test } from "./fixtures";

/** What each role finds in the main navigation: only the sections it may open. */
const SECTIONS: Record<Role, string[]> = {
  engineer: ["Overview", "Environments", "Deployments", "Compliance", "History"],
  release_manager: ["Overview", "Environments", "Deployments", "Compliance", "History", "Audit"],
  compliance_officer: ["Overview", "Environments", "Deployments", "Compliance", "History", "Audit"],
  admin: ["Overview", "Environments", "Deployments", "Compliance", "History", "Audit", "Admin"],
};

test.describe("navigation per role", () => {
  for (const role of ROLES) {
    test(`${ROLE_LABELS[role]} sees exactly the sections they may open`, async ({ page, login }) => {
      await login(role);
      const nav = page.getByRole("navigation", { name: "Main" });
      await expect(nav.getByRole("link")).toHaveText(SECTIONS[role]);
    });
  }

  test("an engineer sees no Audit or Admin link, and the server still refuses the pages", async ({ page, login }) => {
    await login("engineer");
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link", { name: "Audit" })).toHaveCount(0);
    await expect(nav.getByRole("link", { name: "Admin" })).toHaveCount(0);
    await page.goto("/audit");
    await expect(page.getByRole("alert").filter({ hasText: "403" })).toContainText("This needs the Release manager or Compliance officer or Admin role; you are signed in as Engineer.");
    await page.goto("/admin");
    await expect(page.getByRole("alert").filter({ hasText: "403" })).toContainText("you are signed in as Engineer");
  });

  test("a compliance officer is not offered New deployment; a release manager reads the audit log without its export", async ({ page, login }) => {
    await login("compliance_officer");
    await page.goto("/deployments");
    await expect(page.getByRole("heading", { name: "Deployments" })).toBeVisible();
    await expect(page.getByRole("link", { name: "New deployment" })).toHaveCount(0);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin/);
    await login("release_manager");
    await page.goto("/audit");
    await expect(page.getByTestId("chain-status")).toBeVisible();
    await expect(page.getByRole("link", { name: "Export CSV" })).toHaveCount(0);
  });
});

test("repeated wrong passwords are slowed down, and the form says how long to wait", async ({ page }) => {
  await page.goto("/signin");
  const message = page.locator("form p[role=alert]");
  // Three free failures, then delays of 1 s, 2 s, 4 s: within six quick attempts one must be refused.
  let throttledAt = 0;
  for (let attempt = 1; attempt <= 6 && !throttledAt; attempt++) {
    await page.getByLabel("Email").fill("intruder@demo.local");
    await page.getByLabel("Password").fill(`guessing-${attempt}`);
    await Promise.all([page.waitForResponse((r) => r.url().includes("/api/auth/callback/credentials")), page.getByRole("button", { name: "Sign in", exact: true }).click()]);
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
    await expect(message).toHaveText(/do not match|Too many failed sign-ins/);
    if (/Too many/.test(await message.innerText())) throttledAt = attempt;
  }
  expect(throttledAt).toBeGreaterThan(3);
  await expect(message).toHaveText(/^Too many failed sign-ins for this account: wait \d+ second\(s\) before trying again\.$/);
});
