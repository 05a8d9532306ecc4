import { sql } from "drizzle-orm";
import { boolean, check, date, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { clinicIdColumn } from "./clinics";
import { createdAt, id, updatedAt } from "./columns";
import { councilType, councilValidation, uf } from "./enums";
import { tenantPolicies } from "./rls";

export const professionals = pgTable(
  "professionals",
  {
    id: id(),
    clinicId: clinicIdColumn(),
    /** The professional's account in the application's identity provider, when they have one. */
    userId: uuid("user_id"),
    fullName: text("full_name").notNull(),
    email: text("email"),
    councilType: councilType("council_type"),
    councilLicense: text("council_license"),
    councilState: uf("council_state"),
    councilValidation: councilValidation("council_validation").notNull().default("pending"),
    licenseExpiryDate: date("license_expiry_date"),
    isActive: boolean("is_active").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // A CRM registration is 4 to 6 digits and belongs to one state.
    check(
      "professionals_crm_format",
      sql`${t.councilType} <> 'CRM' OR (${t.councilLicense} ~ '^[0-9]{4,6}$' AND ${t.councilState} IS NOT NULL)`,
    ),
    ...tenantPolicies("professionals", t.clinicId),
  ],
);

export type Professional = typeof professionals.$inferSelect;
export type NewProfessional = typeof professionals.$inferInsert;
