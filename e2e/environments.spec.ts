import { expect, targetDatabase, test } from "./fixtures";

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

  test("a migration interrupted part-way shows what it left: how far it got, and each index by state", async ({ page, login }) => {
    // What a run killed inside 0008's index builds leaves on production (at 0004): its first index
    // built, its second left invalid by the interrupted build.
    const db = targetDatabase("production");
    try {
      await db`CREATE INDEX "patients_cpf_hash_idx" ON "patients" USING hash ("cpf")`;
      await db`CREATE INDEX "patients_cns_hash_idx" ON "patients" USING hash ("cns")`;
      await db`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.patients_cns_hash_idx'::regclass`;
      await login("engineer");
      await page.goto("/environments/production");
      const attention = page.getByRole("region", { name: "Needs attention" });
      await expect(attention).toContainText("0008_performance_indexes");
      await expect(attention).toContainText("Partially applied");
      const bar = attention.getByRole("progressbar", { name: "Statements of 0008_performance_indexes committed" });
      await expect(bar).toHaveAttribute("aria-valuenow", "1");
      const left = attention.getByRole("list", { name: "What 0008_performance_indexes left" });
      await expect(left).toContainText("1 of 21 statements committed");
      await expect(left).toContainText("Indexes: 1 built, 1 invalid, 19 not built");
      await expect(left.getByRole("listitem").filter({ hasText: "public.patients_cns_hash_idx" })).toContainText("invalid (dropped and rebuilt by the next apply)");
      await expect(left.getByRole("listitem").filter({ hasText: "public.patients_cpf_hash_idx" })).toContainText("built, valid");
    } finally {
      // Later journeys apply production from the demo's state.
      await db`DROP INDEX IF EXISTS public.patients_cpf_hash_idx`;
      await db`DROP INDEX IF EXISTS public.patients_cns_hash_idx`;
      await db.end();
    }
  });
});
