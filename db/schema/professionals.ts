import { boolean, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { clinics } from "./clinics";
import { createdAt, id, updatedAt } from "./columns";

export const professionals = pgTable("professionals", {
  id: id(),
  clinicId: uuid("clinic_id")
    .notNull()
    .references(() => clinics.id),
  /** The professional's account in the application's identity provider, when they have one. */
  userId: uuid("user_id"),
  fullName: text("full_name").notNull(),
  email: text("email"),
  isActive: boolean("is_active").notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export type Professional = typeof professionals.$inferSelect;
export type NewProfessional = typeof professionals.$inferInsert;
