import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDemoUsers, DEMO_PASSWORD, DEMO_USERS } from "../../lib/auth/demo-users";
import { assertRole, resolveActor } from "../../lib/auth/guard";
import { changeUserRole, createUser, findUserByEmail, newUserInput, setUserActive, verifyCredentials, type Actor } from "../../lib/auth/users";
import { AppError } from "../../lib/errors";
import { auditEvents } from "../../lib/store/schema";
import { freshStore } from "../support/store";

describe("users, roles and the server-side guard", () => {
  let ctx: Awaited<ReturnType<typeof freshStore>>;
  let admin: Actor;

  beforeAll(async () => {
    ctx = await freshStore();
    await ensureDemoUsers(ctx.store.db);
    await ensureDemoUsers(ctx.store.db); // idempotent
    const row = (await findUserByEmail(ctx.store.db, "admin@demo.local"))!;
    admin = { id: row.id, email: row.email, name: row.name, role: row.role };
  });
  afterAll(async () => ctx.close());

  it("seeds one sign-in per demo user, each with a working password", async () => {
    for (const demo of DEMO_USERS) {
      const user = await verifyCredentials(ctx.store.db, demo.email.toUpperCase(), DEMO_PASSWORD);
      expect(user?.role).toBe(demo.role);
    }
    expect(await verifyCredentials(ctx.store.db, "engineer@demo.local", "wrong-password")).toBeNull();
    expect(await verifyCredentials(ctx.store.db, "nobody@demo.local", DEMO_PASSWORD)).toBeNull();
  });

  it("creating a user records who did it in the audit log, in the same transaction", async () => {
    const input = newUserInput.parse({ email: "Nova@Demo.Local", name: "Nova", role: "engineer", password: "" });
    const user = await createUser(ctx.store.db, admin, input);
    expect(user).toMatchObject({ email: "nova@demo.local", hasPassword: false });
    const events = await ctx.store.db.select().from(auditEvents).where(eq(auditEvents.subjectId, user.id));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: "user.created", actorEmail: "admin@demo.local" });
    await expect(createUser(ctx.store.db, admin, input)).rejects.toMatchObject({ code: "conflict" });
  });

  it("rejects weak passwords and malformed emails with field messages", () => {
    const parsed = newUserInput.safeParse({ email: "not-an-email", name: "", role: "engineer", password: "short" });
    expect(parsed.success).toBe(false);
    const fields = parsed.error!.issues.map((i) => i.path.join("."));
    expect(fields).toEqual(expect.arrayContaining(["email", "name", "password"]));
  });

  it("never lets the last active admin be demoted or deactivated", async () => {
    await expect(changeUserRole(ctx.store.db, admin, { userId: admin.id, role: "engineer" })).rejects.toThrow(/last active admin/);
    await expect(setUserActive(ctx.store.db, admin, { userId: admin.id, isActive: false })).rejects.toThrow(/last active admin/);
  });

  it("a role change takes effect on the next call, because the guard re-reads the store", async () => {
    const engineer = (await findUserByEmail(ctx.store.db, "engineer@demo.local"))!;
    const before = await resolveActor(ctx.store.db, engineer.id);
    expect(() => assertRole(before, ["release_manager"])).toThrow(AppError);
    await changeUserRole(ctx.store.db, admin, { userId: engineer.id, role: "release_manager" });
    const after = await resolveActor(ctx.store.db, engineer.id);
    expect(() => assertRole(after, ["release_manager"])).not.toThrow();
  });

  it("refuses with a 403 that names the missing role", async () => {
    const compliance = await resolveActor(ctx.store.db, (await findUserByEmail(ctx.store.db, "compliance@demo.local"))!.id);
    try {
      assertRole(compliance, ["admin"]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).status).toBe(403);
      expect((e as AppError).message).toBe("This needs the Admin role; you are signed in as Compliance officer.");
    }
  });

  it("a deactivated user or a missing session is refused", async () => {
    const release2 = (await findUserByEmail(ctx.store.db, "release2@demo.local"))!;
    await setUserActive(ctx.store.db, admin, { userId: release2.id, isActive: false });
    await expect(resolveActor(ctx.store.db, release2.id)).rejects.toMatchObject({ code: "forbidden" });
    expect(await verifyCredentials(ctx.store.db, release2.email, DEMO_PASSWORD)).toBeNull();
    await expect(resolveActor(ctx.store.db, null)).rejects.toMatchObject({ code: "unauthenticated" });
    await expect(resolveActor(ctx.store.db, "not-a-uuid")).rejects.toMatchObject({ code: "unauthenticated" });
  });
});
