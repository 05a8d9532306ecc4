import type { Browser, Page } from "@playwright/test";
import { demoUser, expect, signIn, test } from "./fixtures";
import type { Role } from "../lib/auth/roles";

async function pageAs(browser: Browser, role: Role, email = demoUser(role).email): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, email);
  return page;
}

test("staging goes to the latest version through the browser: plan, approve, sign off, apply, live log, history", async ({ browser }) => {
  test.setTimeout(120_000);
  const engineer = await pageAs(browser, "engineer");
  await engineer.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
  await engineer.getByRole("link", { name: "New deployment" }).click();
  await engineer.getByLabel("Environment").selectOption("staging");
  await engineer.getByRole("button", { name: "Plan deployment" }).click();
  await expect(engineer).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  const url = engineer.url();
  await expect(engineer.getByText("Awaiting approval")).toBeVisible();
  await expect(engineer.getByRole("region", { name: "Migration 0007_row_level_security" })).toBeVisible();
  // The engineer cannot approve, and the page says why.
  await expect(engineer.getByRole("button", { name: "Approve" })).toBeDisabled();
  await expect(engineer.getByLabel("Why some actions are unavailable")).toContainText("Approve: Needs a release manager.");

  const release = await pageAs(browser, "release_manager");
  await release.goto(url);
  await release.getByRole("button", { name: "Approve" }).click();
  await expect(release.getByLabel("Approvals")).toContainText("Release-manager approvals: 1 of 1");
  // RLS and policies change in this plan: apply waits for the compliance officer.
  await expect(release.getByRole("button", { name: "Apply" })).toBeDisabled();

  const compliance = await pageAs(browser, "compliance_officer");
  await compliance.goto(url);
  await compliance.getByRole("button", { name: "Compliance sign-off" }).click();
  await expect(compliance.getByLabel("Approvals")).toContainText("Compliance sign-off: given (Carla Mendes <compliance@demo.local>)");

  await release.reload();
  await release.getByRole("button", { name: "Apply" }).click();
  await expect(release.getByTestId("run-state")).toHaveText("Run succeeded", { timeout: 30_000 });
  await expect(release.getByTestId("run-progress")).toHaveText(/^(\d+) of \1 statements$/);
  await expect(release.getByRole("list", { name: "Run log" })).toContainText("Run finished");
  await expect(release.getByText("Succeeded", { exact: true })).toBeVisible();
  const schemaBefore = release.getByRole("link", { name: /^Schema before the run/ });
  await expect(schemaBefore).toBeVisible();
  const before = await release.request.get((await schemaBefore.getAttribute("href"))!);
  expect(before.status()).toBe(200);
  expect(await before.text()).toMatch(/"rlsEnabled"|CREATE TABLE public\.patients/);

  await release.goto("/environments/staging");
  await expect(release.getByRole("region", { name: "Pending migrations" })).toContainText("Nothing waiting");
  const applied = release.getByRole("table", { name: "Applied migrations" });
  await expect(applied.getByRole("row").filter({ hasText: "0008_performance_indexes" })).toContainText("deployment #");

  await release.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" }).click();
  const history = release.getByRole("table", { name: "Migration history" });
  await expect(history.getByRole("row").filter({ hasText: "Staging" }).filter({ hasText: "applied 0008_performance_indexes" })).toContainText("deployment #");
});
