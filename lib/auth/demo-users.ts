/** The demo sign-ins: one user per role, seeded only in demo mode. */
import { inArray } from "drizzle-orm";
import { appendAuditEvent } from "../audit/log";
import type { StoreDb } from "../store/db";
import { users } from "../store/schema";
import { hashPassword } from "./password";
import type { Role } from "./roles";
import { findUserByEmail } from "./users";

export const DEMO_PASSWORD = "console-demo";

export const DEMO_USERS: { email: string; name: string; role: Role }[] = [
  { email: "engineer@demo.local", name: "Ana Souza", role: "engineer" },
  { email: "release@demo.local", name: "Bruno Lima", role: "release_manager" },
  { email: "release2@demo.local", name: "Camila Rocha", role: "release_manager" },
  { email: "compliance@demo.local", name: "Carla Mendes", role: "compliance_officer" },
  { email: "admin@demo.local", name: "Diego Alves", role: "admin" },
];

export async function ensureDemoUsers(db: StoreDb): Promise<void> {
  // Every console process seeds at boot: once they exist (the usual case), one query and no hashing.
  const present = new Set((await db.select({ email: users.email }).from(users).where(inArray(users.email, DEMO_USERS.map((u) => u.email)))).map((u) => u.email));
  const missing = DEMO_USERS.filter((u) => !present.has(u.email));
  if (missing.length === 0) return;
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  for (const demo of missing) {
    await db.transaction(async (tx) => {
      if (await findUserByEmail(tx, demo.email)) return;
      const [row] = await tx.insert(users).values({ ...demo, passwordHash }).onConflictDoNothing().returning();
      if (!row) return;
      await appendAuditEvent(tx, { id: null, email: "system" }, {
        action: "user.created",
        subjectType: "user",
        subjectId: row.id,
        details: { email: row.email, role: row.role, passwordSignIn: true, demo: true },
      });
    });
  }
}
