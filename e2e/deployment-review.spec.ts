/**
 * Reviewing deployments in the browser: a plan whose file changed reads "stale" the moment it is
 * opened and cannot be approved; a production deployment that promotion forbids is refused when
 * it is opened, with the reason on the form.
 */
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "@playwright/test";
import { demoUser, expect, signIn, test } from "./fixtures";
import type { Role } from "../lib/auth/roles";

async function pageAs(browser: Browser, role: Role): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, demoUser(role).email);
  return page;
}

async function planDeployment(page: Page, environment: string) {
  await page.goto("/deployments/new");
  await page.getByLabel("Environment").selectOption(environment);
  await page.getByRole("button", { name: "Plan deployment" }).click();
}

test("a release manager who opens a deployment after its migration file changed sees it stale and cannot approve", async ({ browser }) => {
  test.setTimeout(120_000);
  const engineer = await pageAs(browser, "engineer");
  await planDeployment(engineer, "staging");
  await expect(engineer).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  const url = engineer.url();
  const number = (await engineer.getByRole("heading", { level: 1 }).textContent())!.match(/#(\d+)/)![1]!;

  const file = path.join(process.cwd(), "db/migrations/0008_performance_indexes.sql");
  const original = fs.readFileSync(file, "utf8");
  try {
    fs.writeFileSync(file, `${original}\n-- edited after the plan was made\n`);
    const release = await pageAs(browser, "release_manager");
    // Opened by the number users see.
    await release.goto(`/deployments/${number}`);
    await expect(release.getByRole("heading", { level: 1 })).toHaveText(`Deployment #${number}: Staging`);
    await expect(release.getByTestId("stale-badge")).toHaveText("Stale");
    await expect(release.getByRole("alert", { name: "Stale: the plan no longer matches the files or the target" })).toContainText("Recompute the plan");
    await expect(release.getByRole("button", { name: "Approve" })).toBeDisabled();
    await expect(release.getByLabel("Why some actions are unavailable")).toContainText("Approve: The plan is stale");
  } finally {
    fs.writeFileSync(file, original);
  }
  // With the file restored the plan holds again; the author withdraws it so later journeys start clean.
  await engineer.goto(url);
  await expect(engineer.getByTestId("stale-badge")).toHaveCount(0);
  await engineer.getByRole("button", { name: "Cancel" }).click();
  await expect(engineer.getByText("Cancelled", { exact: true })).toBeVisible();
  await expect(engineer.getByRole("list", { name: "Timeline" })).toContainText("cancelled");

  await engineer.goto("/deployments/999999");
  await expect(engineer.getByRole("heading", { name: "404: no such deployment" })).toBeVisible();
});

test("a production deployment that promotion forbids is refused when it is opened, with the reason shown", async ({ browser }) => {
  const engineer = await pageAs(browser, "engineer");
  await planDeployment(engineer, "production");
  const alert = engineer.locator("[data-error-code]");
  await expect(alert).toContainText("Production only takes migrations already applied on Staging; not yet there:", { timeout: 30_000 });
  await expect(alert).toContainText("Deploy these migrations to the upstream environment first");
  await expect(alert).toHaveAttribute("data-error-code", "promotion");
  await expect(engineer).toHaveURL(/\/deployments\/new$/);
});
