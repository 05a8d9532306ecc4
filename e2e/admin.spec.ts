import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { expect, test } from "./fixtures";

/** The id Next.js gave an exported server action in this build. */
function serverActionId(exportedName: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(".next/server/server-reference-manifest.json"), "utf8")) as {
    node: Record<string, { exportedName?: string; filename?: string }>;
  };
  const entry = Object.entries(manifest.node).find(([, v]) => v.exportedName === exportedName);
  if (!entry) throw new Error(`server action ${exportedName} not found in the build manifest`);
  return entry[0];
}

test.describe("admin", () => {
  test("an admin adds a user and changes their role", async ({ page, login }) => {
    await login("admin");
    await page.getByRole("link", { name: "Admin" }).click();
    const email = `new.${randomBytes(3).toString("hex")}@demo.local`;
    const form = page.getByRole("form", { name: "Add a user" });
    await form.getByLabel("Name").fill("Nova Pessoa");
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Role").selectOption("engineer");
    await form.getByLabel(/Password/).fill("a-long-enough-password");
    await form.getByRole("button", { name: "Add user" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Added ${email}` })).toBeVisible();

    const roleSelect = page.getByLabel(`Role of ${email}`);
    await expect(roleSelect).toHaveValue("engineer");
    await roleSelect.selectOption("release_manager");
    // Nothing changes until the admin confirms, in words naming the person and both roles.
    const confirm = page.getByRole("alertdialog", { name: "Confirm the role change" });
    await expect(confirm).toContainText(`(${email}) from Engineer to Release manager`);
    await confirm.getByRole("button", { name: "Change role" }).click();
    await expect(page.getByRole("status").filter({ hasText: `${email} is now Release manager` })).toBeVisible();
    await page.reload();
    await expect(page.getByLabel(`Role of ${email}`)).toHaveValue("release_manager");
  });

  test("an engineer sees a 403 on the admin page", async ({ page, login }) => {
    await login("engineer");
    await page.goto("/admin");
    await expect(page.getByRole("alert").filter({ hasText: "needs the Admin role" })).toBeVisible();
    await expect(page.getByRole("form", { name: "Add a user" })).toHaveCount(0);
  });

  test("the server refuses an engineer calling the admin route handler directly", async ({ page, login }) => {
    await login("engineer");
    const email = `sneaky.${randomBytes(3).toString("hex")}@demo.local`;
    const res = await page.request.post("/api/admin/users", { data: { email, name: "Sneaky", role: "admin", password: "x".repeat(16) } });
    expect(res.status()).toBe(403);
    const body = await res.json();
    expect(body.error.message).toContain("needs the Admin role");
  });

  test("the server refuses an engineer invoking the admin server action directly", async ({ page, login, browser }) => {
    await login("engineer");
    const email = `sneaky.${randomBytes(3).toString("hex")}@demo.local`;
    // What a crafted request looks like: the action's id and its arguments, no page involved.
    const res = await page.request.post("/admin", {
      headers: { "Next-Action": serverActionId("createUserAction"), "Content-Type": "text/plain;charset=UTF-8", Accept: "text/x-component" },
      data: JSON.stringify([{ email, name: "Sneaky", role: "admin", password: "x".repeat(16) }]),
    });
    const body = await res.text();
    expect(body).toContain('"status":403');
    expect(body).toContain("needs the Admin role");

    // And nothing was created: ask as an admin.
    const adminContext = await browser.newContext();
    const adminPage = await adminContext.newPage();
    const { signIn, demoUser } = await import("./fixtures");
    await signIn(adminPage, demoUser("admin").email);
    const list = await adminPage.request.get("/api/admin/users");
    expect(list.status()).toBe(200);
    const users = (await list.json()).data as { email: string }[];
    expect(users.map((u) => u.email)).not.toContain(email);
    await adminContext.close();
  });
});
