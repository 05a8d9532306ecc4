import type { Browser, Page } from "@playwright/test";
import { demoUser, expect, signIn, targetDatabase, test } from "./fixtures";
import type { Role } from "../lib/auth/roles";

async function pageAs(browser: Browser, role: Role, email = demoUser(role).email): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, email);
  return page;
}

test("the Overview shows a deployment's progress while it runs, then who deployed what and the result", async ({ browser }) => {
  test.setTimeout(180_000);
  const engineer = await pageAs(browser, "engineer");
  await engineer.goto("/deployments/new");
  await engineer.getByLabel("Environment").selectOption("production");
  await engineer.getByRole("button", { name: "Plan deployment" }).click();
  await expect(engineer).toHaveURL(/\/deployments\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  const url = engineer.url();

  // What waits on a role shows on that role's Overview.
  const release = await pageAs(browser, "release_manager");
  const production = release.getByRole("article", { name: "Environment Production" });
  const waiting = release.getByRole("region", { name: "Waiting on you" });
  await expect(waiting).toContainText("Production: #", { timeout: 15_000 });
  await expect(waiting.getByText("Approve", { exact: true })).toBeVisible();
  await release.goto(url);
  await release.getByRole("button", { name: "Approve" }).click();
  await expect(release.getByLabel("Approvals")).toContainText("Release-manager approvals: 1 of 2");
  const release2 = await pageAs(browser, "release_manager", "release2@demo.local");
  await release2.goto(url);
  await release2.getByRole("button", { name: "Approve" }).click();
  await expect(release2.getByLabel("Approvals")).toContainText("Release-manager approvals: 2 of 2");
  const compliance = await pageAs(browser, "compliance_officer");
  await expect(compliance.getByRole("region", { name: "Waiting on you" })).toContainText("Production: #");
  await compliance.goto(url);
  await compliance.getByRole("button", { name: "Compliance sign-off" }).click();
  await expect(compliance.getByLabel("Approvals")).toContainText("Compliance sign-off: given");

  // An application transaction holds a lock the run needs: it waits, retrying, while we watch.
  const db = targetDatabase("production");
  const app = await db.reserve();
  try {
    await app`begin`;
    await app`lock table public.appointments in share mode`;
    await release.reload();
    await release.getByRole("button", { name: "Apply" }).click();
    await release.goto("/");
    await expect(production.getByTestId("running")).toContainText(/#\d+ apply to 0008_performance_indexes/, { timeout: 20_000 });
    await expect(production.getByTestId("running-progress")).toHaveText(/^\d+ of \d+ statements$/);
    await expect(production.getByRole("progressbar")).toBeVisible();
  } finally {
    await app`rollback`.catch(() => {});
    app.release();
    await db.end();
  }
  // The Overview follows by itself: no reload.
  await expect(production.getByTestId("running")).toHaveCount(0, { timeout: 60_000 });
  await expect(production.getByTestId("last-deployment")).toContainText("succeeded");
  await expect(production.getByTestId("last-deployment")).toContainText(`by Ana Souza (engineer@demo.local)`);
  await expect(production.getByTestId("current-version")).toContainText("0008_performance_indexes · up to date", { timeout: 30_000 });
});

test("a change by hand shows as drift on the Overview, named, after the next verification", async ({ page, login }) => {
  test.setTimeout(120_000);
  const db = targetDatabase("local");
  try {
    await db`ALTER TABLE public.patients DISABLE ROW LEVEL SECURITY`;
    await login("compliance_officer");
    await page.goto("/compliance");
    await page.getByRole("button", { name: "Verify Local now" }).click();
    await expect(page.getByTestId("overall-local")).toHaveText("Fail", { timeout: 30_000 });
    await page.goto("/");
    const local = page.getByRole("article", { name: "Environment Local" });
    await expect(local.getByTestId("drift")).toContainText("1 object changed by hand");
    await expect(local.getByTestId("drift")).toContainText("table public.patients (rlsEnabled)");
    await expect(local.getByTestId("compliance")).toContainText("Row level security enabled and forced");
    await page.goto("/environments");
    await expect(page.getByTestId("drift-local")).toContainText("1 object drifted");
  } finally {
    await db`ALTER TABLE public.patients ENABLE ROW LEVEL SECURITY`;
    await db.end();
  }
  // Verified again, the drift is gone: later journeys see the demo as it was.
  await page.goto("/compliance");
  await page.getByRole("button", { name: "Verify Local now" }).click();
  await expect(page.getByTestId("overall-local")).toHaveText("Pass", { timeout: 30_000 });
  await page.goto("/");
  await expect(page.getByRole("article", { name: "Environment Local" }).getByTestId("drift")).toContainText("none");
});
