import { DEMO_USERS } from "../lib/auth/demo-users";
import { ROLE_LABELS } from "../lib/auth/roles";
import { expect, signIn, test } from "./fixtures";

test.describe("sign-in", () => {
  for (const user of DEMO_USERS) {
    test(`${user.email} signs in and sees their name and role`, async ({ page }) => {
      await signIn(page, user.email);
      const badge = page.getByTestId("signed-in-user");
      await expect(badge).toContainText(user.name);
      await expect(badge).toContainText(ROLE_LABELS[user.role]);
      await expect(page.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
    });
  }

  test("a signed-out visitor is sent to sign-in and comes back after", async ({ page }) => {
    await page.goto("/deployments");
    await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fdeployments/);
    await page.getByLabel("Email").fill(DEMO_USERS[0]!.email);
    await page.getByLabel("Password").fill("console-demo");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/deployments$/);
  });

  test("a wrong password is refused with a message", async ({ page }) => {
    await page.goto("/signin");
    await page.getByLabel("Email").fill("engineer@demo.local");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("alert").filter({ hasText: "do not match" })).toBeVisible();
    await expect(page).toHaveURL(/\/signin/);
  });

  test("signing out ends the session", async ({ page, login }) => {
    await login("engineer");
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin/);
    await page.goto("/");
    await expect(page).toHaveURL(/\/signin/);
  });

  test("the overview lists every environment with its migration, compliance and server as last verified", async ({ page, login }) => {
    await login("engineer");
    for (const name of ["Local", "Staging", "Production"]) {
      const card = page.getByRole("article", { name: `Environment ${name}` });
      // The worker verifies every environment at start-up; the Overview refreshes itself.
      await expect(card).toContainText("PostgreSQL 18", { timeout: 30_000 });
      await expect(card.getByTestId("current-version")).toContainText(/pending|up to date/);
    }
  });
});
