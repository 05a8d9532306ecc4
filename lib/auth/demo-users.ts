/** The demo sign-ins: one user per role, seeded only in demo mode. */
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
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  for (const demo of DEMO_USERS) {
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
