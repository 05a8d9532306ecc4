/** Console users: sign-in checks and the admin's user management, each change audited. */
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { appendAuditEvent, type AuditActor } from "../audit/log";
import { AppError } from "../errors";
import type { StoreDb, StoreExecutor } from "../store/db";
import { users, type User } from "../store/schema";
import { DUMMY_HASH, hashPassword, passwordMatches } from "./password";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordProblem } from "./password-policy";
import { ROLES, type Role } from "./roles";

/** Who is acting: the signed-in user as the server resolved it. */
export interface Actor {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export type PublicUser = Omit<User, "passwordHash"> & { hasPassword: boolean };

function toPublic({ passwordHash, ...rest }: User): PublicUser {
  return { ...rest, hasPassword: passwordHash !== null };
}

export async function findUserByEmail(db: StoreExecutor, email: string): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = lower(${email})`)
    .limit(1);
  return row;
}

export async function findUserById(db: StoreExecutor, id: string): Promise<User | undefined> {
  if (!z.uuid().safeParse(id).success) return undefined;
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

/** The bare check: the user whose password matches, or null. Sign-in goes through lib/auth/sign-in (throttled, audited). */
export async function verifyCredentials(db: StoreExecutor, email: string, password: string): Promise<User | null> {
  const user = await findUserByEmail(db, email);
  const ok = await passwordMatches(password, user?.passwordHash ?? DUMMY_HASH);
  return ok && user?.isActive ? user : null;
}

export async function listUsers(db: StoreExecutor): Promise<PublicUser[]> {
  const rows = await db.select().from(users).orderBy(asc(users.email));
  return rows.map(toPublic);
}

export const newUserInput = z
  .object({
    email: z.email("Enter a valid email address").transform((v) => v.toLowerCase()),
    name: z.string().trim().min(1, "Enter a name").max(120),
    role: z.enum(ROLES),
    /** Empty for users who sign in through OIDC only. */
    password: z
      .string()
      .min(MIN_PASSWORD_LENGTH, `Passwords need at least ${MIN_PASSWORD_LENGTH} characters`)
      .max(MAX_PASSWORD_LENGTH)
      .optional()
      .or(z.literal("").transform(() => undefined)),
  })
  .superRefine((input, ctx) => {
    const problem = input.password === undefined ? null : passwordProblem(input.password, [input.email, input.name]);
    if (problem) ctx.addIssue({ code: "custom", path: ["password"], message: problem });
  });
export type NewUserInput = z.infer<typeof newUserInput>;

export async function createUser(db: StoreDb, actor: AuditActor, input: NewUserInput): Promise<PublicUser> {
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return db.transaction(async (tx) => {
    if (await findUserByEmail(tx, input.email)) {
      throw new AppError("conflict", `A user with the email ${input.email} already exists.`, { email: ["Already in use"] });
    }
    const [row] = await tx.insert(users).values({ email: input.email, name: input.name, role: input.role, passwordHash }).returning();
    await appendAuditEvent(tx, actor, {
      action: "user.created",
      subjectType: "user",
      subjectId: row!.id,
      details: { email: row!.email, role: row!.role, passwordSignIn: passwordHash !== null },
    });
    return toPublic(row!);
  });
}

export const roleChangeInput = z.object({ userId: z.uuid(), role: z.enum(ROLES) });

export async function changeUserRole(db: StoreDb, actor: Actor, input: z.infer<typeof roleChangeInput>): Promise<PublicUser> {
  return db.transaction(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, input.userId)).for("update");
    if (!user) throw new AppError("not_found", "That user does not exist.");
    if (user.role === input.role) return toPublic(user);
    if (user.role === "admin") await assertAnotherActiveAdmin(tx, user.id);
    const [row] = await tx.update(users).set({ role: input.role, updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
    await appendAuditEvent(tx, actor, {
      action: "user.role_changed",
      subjectType: "user",
      subjectId: user.id,
      details: { email: user.email, from: user.role, to: input.role },
    });
    return toPublic(row!);
  });
}

export const activeChangeInput = z.object({ userId: z.uuid(), isActive: z.boolean() });

export async function setUserActive(db: StoreDb, actor: Actor, input: z.infer<typeof activeChangeInput>): Promise<PublicUser> {
  return db.transaction(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, input.userId)).for("update");
    if (!user) throw new AppError("not_found", "That user does not exist.");
    if (user.isActive === input.isActive) return toPublic(user);
    if (!input.isActive && user.role === "admin") await assertAnotherActiveAdmin(tx, user.id);
    const [row] = await tx.update(users).set({ isActive: input.isActive, updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
    await appendAuditEvent(tx, actor, {
      action: input.isActive ? "user.activated" : "user.deactivated",
      subjectType: "user",
      subjectId: user.id,
      details: { email: user.email },
    });
    return toPublic(row!);
  });
}

/** Nobody may lock the console out of its own administration. */
async function assertAnotherActiveAdmin(tx: StoreExecutor, exceptUserId: string): Promise<void> {
  const [other] = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "admin"), eq(users.isActive, true), ne(users.id, exceptUserId)))
    .limit(1);
  if (!other) throw new AppError("conflict", "This is the last active admin; make another user admin first.");
}
