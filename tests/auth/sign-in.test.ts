/**
 * Sign-in that resists guessing, against a real store: per-account and per-address throttling with
 * growing delays and a temporary lock an admin can lift, every failure and lock audited, counts
 * shared by every web server; sessions that end at their maximum age and when idle.
 */
import { and, eq, like } from "drizzle-orm";
import type { NextAuthOptions } from "next-auth";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_PASSWORD, ensureDemoUsers } from "../../lib/auth/demo-users";
import { buildAuthOptions } from "../../lib/auth/options";
import { sessionActor } from "../../lib/auth/guard";
import { endConsoleSession, liveSessionUser, startConsoleSession } from "../../lib/auth/sessions";
import { ACCOUNT_POLICY, ADDRESS_POLICY, delayAfter, liftSignInLock, listSignInLocks, signInWithPassword } from "../../lib/auth/sign-in";
import { findUserByEmail, setUserActive } from "../../lib/auth/users";
import type { ConsoleConfig } from "../../lib/config/env";
import { openStore, type Store } from "../../lib/store/db";
import { auditEvents, signInThrottles } from "../../lib/store/schema";
import { freshStore } from "../support/store";

let ctx: Awaited<ReturnType<typeof freshStore>>;
/** A second client on the same store: another web server. */
let other: Store;
let adminActor: { id: string; email: string };

beforeAll(async () => {
  ctx = await freshStore();
  other = openStore(ctx.database.url, { max: 4 });
  await ensureDemoUsers(ctx.store.db);
  const admin = (await findUserByEmail(ctx.store.db, "admin@demo.local"))!;
  adminActor = { id: admin.id, email: admin.email };
});
afterAll(async () => {
  await other?.close();
  await ctx?.close();
});
beforeEach(async () => {
  await ctx.store.db.delete(signInThrottles);
});

const failures = (email: string) =>
  ctx.store.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, "auth.sign_in_failed"), eq(auditEvents.subjectId, email)));

const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

// scrypt runs for every checked attempt: seconds per test on a busy machine.
describe("throttled, audited failed sign-ins", { timeout: 120_000 }, () => {
  it("answers 40 wrong passwords in 2.3 s with refusals after a few, refuses the right one right after, and audits every one", async () => {
    const email = "release@demo.local";
    const start = new Date("2026-03-01T10:00:00Z");
    const results = [];
    for (let i = 0; i < 40; i++) {
      // Half of them through another web server's connection: the counts are the store's.
      const db = i % 2 ? other.db : ctx.store.db;
      results.push(await signInWithPassword(db, { email, password: `guess-${i}`, client: "198.51.100.20" }, at(start, i * 57)));
    }
    // Three free failures, a fourth that starts the 1 s delay, one more checked after it (then 2 s).
    const checked = results.filter((r) => !r.ok && !r.throttled).length;
    expect(checked).toBe(ACCOUNT_POLICY.freeFailures + 2);
    expect(results.at(-1)).toMatchObject({ ok: false, throttled: true, message: expect.stringMatching(/^Too many failed sign-ins for this account: wait \d+ second\(s\)/) });

    const right = await signInWithPassword(ctx.store.db, { email, password: DEMO_PASSWORD, client: "198.51.100.20" }, at(start, 2_400));
    expect(right).toMatchObject({ ok: false, throttled: true });

    const audited = await failures(email);
    expect(audited).toHaveLength(41);
    expect(audited.filter((e) => (e.details as { reason: string }).reason === "wrong_password")).toHaveLength(checked);
    expect(audited.filter((e) => (e.details as { reason: string }).reason === "throttled")).toHaveLength(41 - checked);
    expect(audited[0]!.details).toMatchObject({ email, client: "198.51.100.20" });
    expect(JSON.stringify(audited)).not.toMatch(/guess-\d/);
  });

  it("grows the delay with each failure, then locks the account; the lock is audited and an admin lifts it", async () => {
    const email = "engineer@demo.local";
    let now = new Date("2026-03-02T12:00:00Z");
    const delays: number[] = [];
    for (let n = 1; n <= ACCOUNT_POLICY.lockAfter; n++) {
      const r = await signInWithPassword(ctx.store.db, { email, password: "wrong-password", client: null }, now);
      expect(r, `failure ${n}`).toMatchObject({ ok: false, throttled: false });
      const [row] = await ctx.store.db.select().from(signInThrottles).where(eq(signInThrottles.key, `account:${email}`));
      delays.push(row!.nextAttemptAt ? row!.nextAttemptAt.getTime() - now.getTime() : 0);
      now = at(now, delayAfter(ACCOUNT_POLICY, n) + 1);
    }
    expect(delays.slice(0, ACCOUNT_POLICY.freeFailures)).toEqual([0, 0, 0]);
    const growing = delays.slice(ACCOUNT_POLICY.freeFailures);
    for (let i = 1; i < growing.length; i++) expect(growing[i]).toBeGreaterThanOrEqual(growing[i - 1]!);
    expect(growing[0]).toBeGreaterThan(0);
    expect(growing.at(-1)).toBeGreaterThan(growing[0]!);

    const locked = await signInWithPassword(ctx.store.db, { email, password: DEMO_PASSWORD, client: null }, now);
    expect(locked).toMatchObject({ ok: false, throttled: true, message: expect.stringMatching(/this account is locked for 15 more minute\(s\)\. An admin can lift the lock in Admin\./) });
    const [lockEvent] = await ctx.store.db.select().from(auditEvents).where(eq(auditEvents.action, "auth.locked"));
    expect(lockEvent).toMatchObject({ subjectId: `account:${email}`, details: { kind: "account", subject: email, failures: ACCOUNT_POLICY.lockAfter } });

    const locks = await listSignInLocks(ctx.store.db, now);
    expect(locks.map((l) => l.key)).toEqual([`account:${email}`]);
    await liftSignInLock(ctx.store.db, adminActor, `account:${email}`);
    expect(await signInWithPassword(ctx.store.db, { email, password: DEMO_PASSWORD, client: null }, now)).toMatchObject({ ok: true, user: { email } });
    const [lifted] = await ctx.store.db.select().from(auditEvents).where(eq(auditEvents.action, "auth.lock_lifted"));
    expect(lifted).toMatchObject({ actorEmail: "admin@demo.local", subjectId: `account:${email}` });
    await expect(liftSignInLock(ctx.store.db, adminActor, `account:${email}`)).rejects.toMatchObject({ code: "not_found" });
  });

  it("lets a lock run out on its own after its time", async () => {
    const email = "compliance@demo.local";
    let now = new Date("2026-03-03T09:00:00Z");
    for (let n = 1; n <= ACCOUNT_POLICY.lockAfter; n++) {
      await signInWithPassword(ctx.store.db, { email, password: "wrong-password", client: null }, now);
      now = at(now, delayAfter(ACCOUNT_POLICY, n) + 1);
    }
    expect(await signInWithPassword(ctx.store.db, { email, password: DEMO_PASSWORD, client: null }, at(now, ACCOUNT_POLICY.lockMs - 60_000))).toMatchObject({ ok: false, throttled: true });
    expect(await signInWithPassword(ctx.store.db, { email, password: DEMO_PASSWORD, client: null }, at(now, ACCOUNT_POLICY.lockMs + 1_000))).toMatchObject({ ok: true });
  });

  it("throttles unknown emails exactly like real ones, so the answers reveal nothing", async () => {
    const answer = async (email: string) => {
      const out = [];
      const start = new Date("2026-03-07T10:00:00Z");
      for (let i = 0; i < 6; i++) out.push(await signInWithPassword(ctx.store.db, { email, password: "wrong-password", client: null }, at(start, i * 100)));
      return out.map((r) => (r.ok ? "ok" : r.message.replace(/\d+/g, "N")));
    };
    expect(await answer("nobody@demo.local")).toEqual(await answer("admin@demo.local"));
    expect((await failures("nobody@demo.local"))[0]!.details).toMatchObject({ reason: "unknown_user" });
  });

  it("throttles one client address spraying many accounts, while others still sign in", async () => {
    const address = "192.0.2.66";
    let now = new Date("2026-03-04T10:00:00Z");
    for (let n = 1; n <= ADDRESS_POLICY.freeFailures + 1; n++) {
      await signInWithPassword(ctx.store.db, { email: `sprayed-${n}@demo.local`, password: "wrong-password", client: address }, now);
      now = at(now, 10);
    }
    const fromThere = await signInWithPassword(ctx.store.db, { email: "release2@demo.local", password: DEMO_PASSWORD, client: address }, now);
    expect(fromThere).toMatchObject({ ok: false, throttled: true, message: expect.stringMatching(/for your address/) });
    expect(await signInWithPassword(ctx.store.db, { email: "release2@demo.local", password: DEMO_PASSWORD, client: "192.0.2.1" }, now)).toMatchObject({ ok: true });
  });

  it("checks at most the free attempts when guesses arrive in parallel", async () => {
    const email = "admin@demo.local";
    const now = new Date("2026-03-06T10:00:00Z");
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => signInWithPassword(i % 2 ? other.db : ctx.store.db, { email, password: `parallel-${i}`, client: null }, now)),
    );
    expect(results.filter((r) => !r.ok && !r.throttled).length).toBe(ACCOUNT_POLICY.freeFailures + 1);
    expect(results.filter((r) => !r.ok && r.throttled).length).toBe(12 - ACCOUNT_POLICY.freeFailures - 1);
  });

  it("says why through the browser's sign-in (next-auth), with the client address from the proxy", async () => {
    const config = { authSecret: "z".repeat(40), oidc: null, sessions: { maxAgeSeconds: 3600, idleSeconds: 600 } } as unknown as ConsoleConfig;
    const options: NextAuthOptions = buildAuthOptions(config, ctx.store.db);
    const authorize = (options.providers[0] as unknown as { options: { authorize: (c: Record<string, string>, req: unknown) => Promise<unknown> } }).options.authorize;
    const req = { headers: { "x-forwarded-for": "10.0.0.1, 203.0.113.77" } };
    expect(await authorize({ email: "release2@demo.local", password: "nope-nope-nope" }, req)).toBeNull();
    const [wrong] = (await failures("release2@demo.local")).slice(-1);
    expect(wrong!.details).toMatchObject({ client: "203.0.113.77", reason: "wrong_password" });
    await ctx.store.db.update(signInThrottles).set({ lockedUntil: new Date(Date.now() + 10 * 60_000) }).where(eq(signInThrottles.key, "account:release2@demo.local"));
    await expect(authorize({ email: "release2@demo.local", password: DEMO_PASSWORD }, req)).rejects.toThrow(/Too many failed sign-ins: this account is locked for 10 more minute\(s\)/);
    await ctx.store.db.delete(signInThrottles).where(like(signInThrottles.key, "account:release2%"));
    const user = (await authorize({ email: "release2@demo.local", password: DEMO_PASSWORD }, req)) as { id: string; sessionId: string };
    expect(await liveSessionUser(ctx.store.db, user.sessionId, config.sessions)).toBe(user.id);
  });
});

describe("sessions", () => {
  const policy = { maxAgeSeconds: 8 * 3600, idleSeconds: 30 * 60 };

  it("stay live while used, end after the idle timeout, and end at their maximum age however busy", async () => {
    const user = (await findUserByEmail(ctx.store.db, "engineer@demo.local"))!;
    const start = new Date("2026-03-05T08:00:00Z");
    const busy = await startConsoleSession(ctx.store.db, user.id, policy, "test", start);
    for (let minutes = 20; minutes < 8 * 60; minutes += 20) {
      expect(await liveSessionUser(ctx.store.db, busy, policy, at(start, minutes * 60_000))).toBe(user.id);
    }
    await expect(liveSessionUser(ctx.store.db, busy, policy, at(start, 8 * 3600_000 + 1))).rejects.toMatchObject({ code: "unauthenticated", message: expect.stringMatching(/maximum length \(8 h\)/) });
    await expect(liveSessionUser(ctx.store.db, busy, policy, at(start, 8 * 3600_000 + 2))).rejects.toMatchObject({ message: "Your session has ended. Sign in again." });

    const idle = await startConsoleSession(ctx.store.db, user.id, policy, "test", start);
    expect(await liveSessionUser(ctx.store.db, idle, policy, at(start, 29 * 60_000))).toBe(user.id);
    await expect(liveSessionUser(ctx.store.db, idle, policy, at(start, 29 * 60_000 + 31 * 60_000))).rejects.toMatchObject({ message: expect.stringMatching(/after 30 minutes without activity/) });
  });

  it("name the caller in one read: the token's own live session, an active account, the role as it is now", async () => {
    const engineer = (await findUserByEmail(ctx.store.db, "engineer@demo.local"))!;
    const release = (await findUserByEmail(ctx.store.db, "release@demo.local"))!;
    const id = await startConsoleSession(ctx.store.db, engineer.id, policy, "test");
    expect(await sessionActor(ctx.store.db, { sessionId: id, userId: engineer.id }, policy)).toEqual({ id: engineer.id, email: engineer.email, name: engineer.name, role: "engineer" });
    // A token naming someone else than the session's user is no sign-in.
    await expect(sessionActor(ctx.store.db, { sessionId: id, userId: release.id }, policy)).rejects.toMatchObject({ code: "unauthenticated", message: "Sign in again." });
    await expect(sessionActor(ctx.store.db, { sessionId: "not-a-session", userId: engineer.id }, policy)).rejects.toMatchObject({ code: "unauthenticated" });
    // Read per call, never remembered: a deactivation counts at once.
    const admin = (await findUserByEmail(ctx.store.db, "admin@demo.local"))!;
    await setUserActive(ctx.store.db, { id: admin.id, email: admin.email, name: admin.name, role: admin.role }, { userId: engineer.id, isActive: false });
    try {
      await expect(sessionActor(ctx.store.db, { sessionId: id, userId: engineer.id }, policy)).rejects.toMatchObject({ code: "forbidden", message: expect.stringMatching(/deactivated/) });
    } finally {
      await setUserActive(ctx.store.db, { id: admin.id, email: admin.email, name: admin.name, role: admin.role }, { userId: engineer.id, isActive: true });
    }
    await endConsoleSession(ctx.store.db, id, "signed_out");
    await expect(sessionActor(ctx.store.db, { sessionId: id, userId: engineer.id }, policy)).rejects.toMatchObject({ message: "Your session has ended. Sign in again." });
  });

  it("end at sign-out", async () => {
    const user = (await findUserByEmail(ctx.store.db, "engineer@demo.local"))!;
    const id = await startConsoleSession(ctx.store.db, user.id, policy, "test");
    await endConsoleSession(ctx.store.db, id, "signed_out");
    await expect(liveSessionUser(ctx.store.db, id, policy)).rejects.toMatchObject({ code: "unauthenticated" });
  });
});
