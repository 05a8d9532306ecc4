import { sql } from "drizzle-orm";
import { boolean, check, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, updatedAt } from "./columns";
import { tenantPolicies } from "./rls";

export const clinics = pgTable(
  "clinics",
  {
    id: id(),
    name: text("name").notNull(),
    cnpj: text("cnpj").notNull().unique("clinics_cnpj_unique"),
    /** CNES: the clinic's registration in the national registry of health establishments. */
    cnesCode: text("cnes_code"),
    anvisaLicense: text("anvisa_license"),
    /** The data protection officer LGPD Art. 41 requires, reachable by patients. */
    lgpdDpoEmail: text("lgpd_dpo_email"),
    isActive: boolean("is_active").notNull().default(true),
    timezone: text("timezone").notNull().default("America/Sao_Paulo"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("clinics_cnpj_format", sql`${t.cnpj} ~ '^[0-9]{14}$'`),
    check("clinics_cnes_format", sql`${t.cnesCode} ~ '^[0-9]{7}$'`),
    // The clinic is the tenant itself: its key is `id`, where every other table has `clinic_id`.
    ...tenantPolicies("clinics", t.id),
  ],
);

/** The tenant key of every clinic-owned table: what RLS policies and verification look for. */
export const clinicIdColumn = () =>
  uuid("clinic_id")
    .notNull()
    .references(() => clinics.id);

export type Clinic = typeof clinics.$inferSelect;
export type NewClinic = typeof clinics.$inferInsert;
