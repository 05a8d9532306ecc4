import { randomBytes } from "node:crypto";
import { type Browser, type Page } from "@playwright/test";
import { OIDC } from "./support/oidc-settings";
import { expect, test } from "./fixtures";

/**
 * Single sign-on for real: the console's "Sign in with Clinic SSO" goes through a real OpenID
 * Connect provider on loopback (oidc-provider, see e2e/support/oidc-provider.ts) and back. Its
 * accounts all claim to be admins: the console's role must come from the console alone.
 */

/** The provider's development login and consent pages, as a person would go through them. */
async function signInThroughProvider(page: Page, email: string) {
  await page.goto("/signin");
  await page.getByRole("button", { name: `Sign in with ${OIDC.name}` }).click();
  await expect(page).toHaveURL(new RegExp(`^${OIDC.issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(email);
  await page.locator('input[name="password"]').fill("any password: the provider's development login accepts it");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

async function freshPage(browser: Browser) {
  const context = await browser.newContext();
  return { page: await context.newPage(), close: () => context.close() };
}

test.describe("single sign-on through an OpenID Connect provider", () => {
  const known = `dr.ana.${randomBytes(3).toString("hex")}@clinic.example`;

  test("an email an admin added signs in with the role the console gave it, not the provider's", async ({ page, login, browser }) => {
    test.setTimeout(90_000);
    await login("admin");
    await page.goto("/admin");
    const form = page.getByRole("form", { name: "Add a user" });
    await form.getByLabel("Name").fill("Ana Souza");
    await form.getByLabel("Email").fill(known);
    await form.getByLabel("Role").selectOption("release_manager");
    await form.getByRole("button", { name: "Add user" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Added ${known}` })).toBeVisible();

    const sso = await freshPage(browser);
    try {
      await signInThroughProvider(sso.page, known);
      const badge = sso.page.getByTestId("signed-in-user");
      await expect(badge).toBeVisible();
      await expect(badge).toContainText("Ana Souza");
      // The provider says role "admin" and group "console-admins": neither counts.
      await expect(badge).toContainText("Release manager");
      await sso.page.goto("/admin");
      await expect(sso.page.getByRole("alert").filter({ hasText: "needs the Admin role" })).toBeVisible();
      await expect(sso.page.getByRole("form", { name: "Add a user" })).toHaveCount(0);
    } finally {
      await sso.close();
    }

    // The admin changes the role in the console: the next request of the SSO user follows it.
    await page.reload();
    await page.getByLabel(`Role of ${known}`).selectOption("engineer");
    await page.getByRole("alertdialog", { name: "Confirm the role change" }).getByRole("button", { name: "Change role" }).click();
    await expect(page.getByRole("status").filter({ hasText: `${known} is now Engineer` })).toBeVisible();
    const again = await freshPage(browser);
    try {
      await signInThroughProvider(again.page, known);
      await expect(again.page.getByTestId("signed-in-user")).toContainText("Engineer");
    } finally {
      await again.close();
    }
  });

  test("an email nobody added is refused, and no user is created for it", async ({ page, login, browser }) => {
    test.setTimeout(90_000);
    const stranger = `stranger.${randomBytes(3).toString("hex")}@clinic.example`;
    const sso = await freshPage(browser);
    try {
      await signInThroughProvider(sso.page, stranger);
      await expect(sso.page).toHaveURL(/\/signin\?error=AccessDenied/);
      await expect(sso.page.getByRole("alert").filter({ hasText: "That account is not allowed in. An admin must add your email first." })).toBeVisible();
      await expect(sso.page.getByTestId("signed-in-user")).toHaveCount(0);
      await sso.page.goto("/deployments");
      await expect(sso.page).toHaveURL(/\/signin\?callbackUrl=/);
    } finally {
      await sso.close();
    }
    await login("admin");
    await page.goto("/admin");
    await expect(page.getByRole("table")).toBeVisible();
    await expect(page.getByText(stranger)).toHaveCount(0);
  });
});
