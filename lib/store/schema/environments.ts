import { integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { GatePolicy } from "../../config/environments";

/**
 * The registry's environments as the store knows them, so deployments and snapshots can refer to
 * them. The config file is the source of truth; start-up syncs it here.
 */
export const environments = pgTable("environments", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull().unique(),
  label: text("label").notNull(),
  position: integer("position").notNull(),
  urlEnv: text("url_env").notNull(),
  gatePolicy: jsonb("gate_policy").$type<GatePolicy>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type EnvironmentRow = typeof environments.$inferSelect;
