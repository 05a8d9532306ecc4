import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { unzipSync, strFromU8 } from "fflate";
import { createHash } from "node:crypto";
import { expect, test } from "./fixtures";

test("a compliance officer sees a healthy environment green, a broken one red with its evidence, and exports the evidence", async ({ page, login }) => {
  test.setTimeout(90_000);
  await login("compliance_officer");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Compliance" }).click();
  const board = page.getByRole("table", { name: "Compliance board" });
  await expect(board).toBeVisible();

  // Run both now rather than wait for the schedule.
  await page.getByRole("button", { name: "Verify Local now" }).click();
  await expect(page.getByRole("button", { name: "Verify Local now" })).toBeEnabled({ timeout: 30_000 });
  await page.getByRole("button", { name: "Verify Production now" }).click();
  await expect(page.getByRole("button", { name: "Verify Production now" })).toBeEnabled({ timeout: 30_000 });

  // Local runs every migration: healthy. Production is four behind: no RLS yet, tables missing.
  await expect(page.getByTestId("overall-local")).toHaveText("Pass");
  await expect(page.getByTestId("overall-production")).toHaveText("Fail");
  await expect(page.getByTestId("last-run-production")).toContainText("(manual) at 0004_consent_hash_trigger");

  await page.getByRole("link", { name: "Row level security enabled and forced on Production: fail" }).click();
  await expect(page).toHaveURL(/\/compliance\/production#rls-enabled-forced$/);
  await expect(page.getByRole("list", { name: "Evidence of rls.enabled" })).toContainText("public.patients");

  await page.goto("/compliance/production/rls.enabled");
  await expect(page.getByLabel("SQL reproducing rls.enabled")).toContainText("relrowsecurity");

  await page.goto("/compliance/production");
  const downloadPromise = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export evidence" }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/^evidence-production-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.zip$/);
  const files = unzipSync(new Uint8Array(fs.readFileSync(await download.path())));
  expect(Object.keys(files).sort()).toEqual(["SHA256SUMS", "audit.json", "backups.json", "deployments.json", "manifest.json", "report.html", "signature.json", "verification.json"]);
  const manifest = JSON.parse(strFromU8(files["manifest.json"]!)) as { files: { name: string; sha256: string }[] };
  // The manifest covers every file but itself and SHA256SUMS; SHA256SUMS covers every file but itself.
  expect(manifest.files.map((f) => f.name).sort()).toEqual(["audit.json", "backups.json", "deployments.json", "report.html", "verification.json"]);
  for (const f of manifest.files) expect(createHash("sha256").update(files[f.name]!).digest("hex")).toBe(f.sha256);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-e2e-evidence-"));
  try {
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
    const checked = execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, encoding: "utf8", timeout: 10_000 });
    expect(checked.trim().split("\n").sort()).toEqual(["audit.json: OK", "backups.json: OK", "deployments.json: OK", "manifest.json: OK", "report.html: OK", "verification.json: OK"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(strFromU8(files["report.html"]!)).toContain("Compliance evidence: Production");
});
