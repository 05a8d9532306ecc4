import { index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { deployments } from "./deployments";
import { environments } from "./environments";

/** One verification run of an environment: what the dashboards and the promotion gate read. */
export const verificationSnapshots = pgTable(
  "verification_snapshots",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    environmentId: uuid("environment_id")
      .notNull()
      .references(() => environments.id),
    /** Set when the run followed a deployment's apply. */
    deploymentId: uuid("deployment_id").references(() => deployments.id),
    trigger: text("trigger").notNull(),
    /** "passed", "failed" (a check failed) or "error" (a check could not run, or the target was unreachable). */
    outcome: text("outcome").notNull(),
    passed: integer("passed").notNull(),
    failed: integer("failed").notNull(),
    errored: integer("errored").notNull(),
    report: jsonb("report").$type<Record<string, unknown>>().notNull(),
    /** The target's migration version when verified. */
    targetVersion: text("target_version"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("verification_snapshots_env_idx").on(t.environmentId, t.createdAt)],
);

export type VerificationSnapshot = typeof verificationSnapshots.$inferSelect;
