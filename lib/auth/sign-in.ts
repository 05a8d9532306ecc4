/**
 * Password sign-in that resists guessing: failures are counted per account and per client address
 * in the store (so every web server and the CLI share the counts). A few free failures, then a
 * growing delay before the next attempt is even checked, then a temporary lock that an admin can
 * lift. Unknown emails are throttled exactly like known ones, so the answers reveal nothing. Every
 * failure, every refusal and every lock is in the audit log, in the transaction that counts it.
 */
import { and, eq, inArray, isNotNull, lt, or, isNull, gt, sql } from "drizzle-orm";
import { appendAuditEvent, type AuditActor } from "../audit/log";
import { AppError } from "../errors";
import type { StoreDb, StoreExecutor } from "../store/db";
import { signInThrottles, type SignInThrottle, type User } from "../store/schema";
import { DUMMY_HASH, passwordMatches } from "./password";
import { findUserByEmail } from "./users";

export interface ThrottlePolicy {
  /** Failures answered at once before delays start. */
  freeFailures: number;
  /** The delay after the first delayed failure; it doubles with each further one, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** This many failures lock the key for lockMs. */
  lockAfter: number;
  lockMs: number;
  /** Failures older than this are forgotten (unless locked). */
  windowMs: number;
}

/** Per account: a person mistyping gets three tries at once; a guesser gets ten, then 15 minutes of nothing. */
export const ACCOUNT_POLICY: ThrottlePolicy = { freeFailures: 3, firstDelayMs: 1_000, maxDelayMs: 30_000, lockAfter: 10, lockMs: 15 * 60_000, windowMs: 60 * 60_000 };
/** Per client address: looser (offices share an address), but one address cannot spray every account. */
export const ADDRESS_POLICY: ThrottlePolicy = { freeFailures: 10, firstDelayMs: 1_000, maxDelayMs: 30_000, lockAfter: 50, lockMs: 15 * 60_000, windowMs: 60 * 60_000 };

const POLICY: Record<SignInThrottle["kind"], ThrottlePolicy> = { account: ACCOUNT_POLICY, address: ADDRESS_POLICY };

export const WRONG_CREDENTIALS = "That email and password do not match an active user.";

export type SignInResult =
  | { ok: true; user: User }
  | { ok: false; throttled: boolean; message: string; retryAfterSeconds: number | null };

export interface SignInAttempt {
  email: string;
  password: string;
  /** Where the attempt comes from (the client's address, or "cli:user@host"); null when unknown. */
  client: string | null;
}

/** The delay before the next attempt after `failures` failures (0 while free). */
export function delayAfter(policy: ThrottlePolicy, failures: number): number {
  if (failures <= policy.freeFailures) return 0;
  return Math.min(policy.firstDelayMs * 2 ** (failures - policy.freeFailures - 1), policy.maxDelayMs);
}

const accountKey = (email: string) => `account:${email}`;
const addressKey = (address: string) => `address:${address}`;

/** A row as it stands now: failures outside the window and locks that ran out are forgotten. */
function current(row: SignInThrottle, now: Date): SignInThrottle {
  const locked = row.lockedUntil !== null && row.lockedUntil > now;
  const stale = !locked && row.lastFailureAt !== null && now.getTime() - row.lastFailureAt.getTime() > POLICY[row.kind].windowMs;
  if (stale || (row.lockedUntil !== null && !locked)) return { ...row, failures: 0, nextAttemptAt: null, lockedUntil: null };
  return row;
}

function waitSeconds(until: Date, now: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}

export async function signInWithPassword(db: StoreDb, attempt: SignInAttempt, now = new Date()): Promise<SignInResult> {
  const email = attempt.email.trim().toLowerCase();
  const keys: { key: string; kind: SignInThrottle["kind"]; subject: string }[] = [{ key: accountKey(email), kind: "account", subject: email }];
  if (attempt.client) keys.push({ key: addressKey(attempt.client), kind: "address", subject: attempt.client });
  const who: AuditActor = { id: null, email };

  return db.transaction(async (tx) => {
    await tx.insert(signInThrottles).values(keys).onConflictDoNothing();
    // Locked in key order, so concurrent attempts on the same account or address take turns.
    const rows = (
      await tx
        .select()
        .from(signInThrottles)
        .where(inArray(signInThrottles.key, keys.map((k) => k.key)))
        .orderBy(signInThrottles.key)
        .for("update")
    ).map((r) => current(r, now));

    const blocking = rows
      .map((r) => ({ row: r, until: r.lockedUntil && r.lockedUntil > now ? r.lockedUntil : r.nextAttemptAt && r.nextAttemptAt > now ? r.nextAttemptAt : null }))
      .filter((b): b is { row: SignInThrottle; until: Date } => b.until !== null)
      .sort((a, b) => b.until.getTime() - a.until.getTime())[0];
    if (blocking) {
      const locked = blocking.row.lockedUntil !== null && blocking.row.lockedUntil > now;
      const retryAfterSeconds = waitSeconds(blocking.until, now);
      await appendAuditEvent(tx, who, {
        action: "auth.sign_in_failed",
        subjectType: "sign_in",
        subjectId: email,
        details: { email, client: attempt.client, reason: locked ? "locked" : "throttled", by: blocking.row.kind, retryAfterSeconds },
      });
      const scope = blocking.row.kind === "account" ? "this account" : "your address";
      const message = locked
        ? `Too many failed sign-ins: ${scope} is locked for ${Math.ceil(retryAfterSeconds / 60)} more minute(s). An admin can lift the lock in Admin.`
        : `Too many failed sign-ins for ${scope}: wait ${retryAfterSeconds} second(s) before trying again.`;
      return { ok: false, throttled: true, message, retryAfterSeconds };
    }

    const user = await findUserByEmail(tx, email);
    const matches = await passwordMatches(attempt.password, user?.passwordHash ?? DUMMY_HASH);
    if (matches && user?.isActive) {
      await tx
        .update(signInThrottles)
        .set({ failures: 0, nextAttemptAt: null, lockedUntil: null, lastFailureAt: null, updatedAt: now })
        .where(eq(signInThrottles.key, accountKey(email)));
      return { ok: true, user };
    }

    const reason = !user ? "unknown_user" : !matches ? "wrong_password" : "inactive";
    const counted: { kind: SignInThrottle["kind"]; failures: number }[] = [];
    for (const row of rows) {
      const policy = POLICY[row.kind];
      const failures = row.failures + 1;
      const lockedUntil = failures >= policy.lockAfter ? new Date(now.getTime() + policy.lockMs) : null;
      const delay = delayAfter(policy, failures);
      await tx
        .update(signInThrottles)
        .set({ failures, lastFailureAt: now, nextAttemptAt: delay ? new Date(now.getTime() + delay) : null, lockedUntil, updatedAt: now })
        .where(eq(signInThrottles.key, row.key));
      counted.push({ kind: row.kind, failures });
      if (lockedUntil) {
        await appendAuditEvent(tx, who, {
          action: "auth.locked",
          subjectType: "sign_in_lock",
          subjectId: row.key,
          details: { kind: row.kind, subject: row.subject, failures, until: lockedUntil.toISOString() },
        });
      }
    }
    await appendAuditEvent(tx, who, {
      action: "auth.sign_in_failed",
      subjectType: "sign_in",
      subjectId: email,
      details: { email, client: attempt.client, reason, failures: Object.fromEntries(counted.map((c) => [c.kind, c.failures])) },
    });
    // Rows of unknown emails and old addresses go once nothing about them is current.
    await tx
      .delete(signInThrottles)
      .where(and(lt(signInThrottles.updatedAt, new Date(now.getTime() - 24 * 60 * 60_000)), or(isNull(signInThrottles.lockedUntil), lt(signInThrottles.lockedUntil, now))));
    return { ok: false, throttled: false, message: WRONG_CREDENTIALS, retryAfterSeconds: null };
  });
}

export interface SignInLock {
  key: string;
  kind: SignInThrottle["kind"];
  subject: string;
  failures: number;
  lockedUntil: Date;
}

/** Locks in force now, for Admin. */
export async function listSignInLocks(db: StoreExecutor, now = new Date()): Promise<SignInLock[]> {
  const rows = await db
    .select()
    .from(signInThrottles)
    .where(and(isNotNull(signInThrottles.lockedUntil), gt(signInThrottles.lockedUntil, now)))
    .orderBy(sql`${signInThrottles.lockedUntil} desc`);
  return rows.map((r) => ({ key: r.key, kind: r.kind, subject: r.subject, failures: r.failures, lockedUntil: r.lockedUntil! }));
}

/** An admin lifts a lock (and the delays): the account or address may sign in again at once. Audited. */
export async function liftSignInLock(db: StoreDb, actor: AuditActor, key: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.select().from(signInThrottles).where(eq(signInThrottles.key, key)).for("update");
    if (!row || row.failures === 0) throw new AppError("not_found", "There is no sign-in lock to lift for that account or address.");
    await tx.update(signInThrottles).set({ failures: 0, nextAttemptAt: null, lockedUntil: null, lastFailureAt: null, updatedAt: new Date() }).where(eq(signInThrottles.key, key));
    await appendAuditEvent(tx, actor, {
      action: "auth.lock_lifted",
      subjectType: "sign_in_lock",
      subjectId: key,
      details: { kind: row.kind, subject: row.subject, failures: row.failures, wasLockedUntil: row.lockedUntil?.toISOString() ?? null },
    });
  });
}
