import { sql } from "drizzle-orm";
import { boolean, check, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, id, updatedAt } from "./columns";

export const clinics = pgTable(
  "clinics",
  {
    id: id(),
    name: text("name").notNull(),
    cnpj: text("cnpj").notNull().unique("clinics_cnpj_unique"),
    isActive: boolean("is_active").notNull().default(true),
    timezone: text("timezone").notNull().default("America/Sao_Paulo"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check("clinics_cnpj_format", sql`${t.cnpj} ~ '^[0-9]{14}$'`)],
);

export type Clinic = typeof clinics.$inferSelect;
export type NewClinic = typeof clinics.$inferInsert;
