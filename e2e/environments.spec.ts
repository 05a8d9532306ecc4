import { expect, test } from "./fixtures";

test.describe("environments", () => {
  test("an engineer sees each environment's version and what is pending, with its SQL", async ({ page, login }) => {
    await login("engineer");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Environments" }).click();

    // The demo starts production four migrations behind; no journey deploys to production.
    await expect(page.getByRole("row", { name: "Environment Local" })).toContainText("up to date");
    await expect(page.getByRole("row", { name: "Environment Production" })).toContainText("4 pending");

    await page.getByRole("link", { name: "Production" }).click();
    const applied = page.getByRole("table", { name: "Applied migrations" });
    await expect(applied.getByRole("row")).toHaveCount(1 + 5);
    await expect(applied).toContainText("demo-setup");
    const pending = page.getByRole("region", { name: "Pending migrations" });
    await expect(pending.getByLabel("SQL of 0007_row_level_security")).toContainText("FORCE ROW LEVEL SECURITY");
    await expect(pending.getByLabel("SQL of 0008_performance_indexes")).toContainText("CREATE INDEX CONCURRENTLY");
  });
});
