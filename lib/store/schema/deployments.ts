import { sql } from "drizzle-orm";
import { bigserial, index, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { Plan } from "../../plan/plan";
import type { SchemaDump } from "../../plan/schema-dump";
import type { SchemaSnapshot } from "../../plan/schema-snapshot";
import { environments } from "./environments";
import { users } from "./users";

export const DEPLOYMENT_STATES = ["awaiting_approval", "approved", "queued", "running", "succeeded", "failed", "rejected", "cancelled"] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];
export const deploymentStateEnum = pgEnum("deployment_state", DEPLOYMENT_STATES);
export const DEPLOYMENT_KINDS = ["apply", "rollback", "backfill"] as const;
export type DeploymentKind = (typeof DEPLOYMENT_KINDS)[number];
export const deploymentKindEnum = pgEnum("deployment_kind", DEPLOYMENT_KINDS);

/** A request to move one environment to a target migration, with the plan it was approved on. */
export const deployments = pgTable(
  "deployments",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    number: bigserial("number", { mode: "number" }).notNull().unique(),
    environmentId: uuid("environment_id")
      .notNull()
      .references(() => environments.id),
    kind: deploymentKindEnum("kind").notNull(),
    /** apply: up to this tag; rollback: back to this tag (null = everything). */
    targetTag: text("target_tag"),
    /** backfill: the name of its file in db/backfills. */
    backfillName: text("backfill_name"),
    state: deploymentStateEnum("state").notNull(),
    createdBy: uuid("created_by")
      .notNull()
      .references(() => users.id),
    plan: jsonb("plan").$type<Plan>().notNull(),
    planHash: text("plan_hash").notNull(),
    rejectReason: text("reject_reason"),
    /** Set when verification ran after the apply: "passed" or "failed". */
    verification: text("verification"),
    /** The target's schema right before the apply: catalog snapshot, and pg_dump --schema-only where one can read the server. */
    schemaBefore: jsonb("schema_before").$type<{ catalog: SchemaSnapshot; dump: SchemaDump }>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("deployments_environment_state_idx").on(t.environmentId, t.state),
    // At most one deployment per environment is queued or running: the store refuses a second.
    uniqueIndex("deployments_one_active_per_environment").on(t.environmentId).where(sql`state in ('queued', 'running')`),
  ],
);

export const approvalKindEnum = pgEnum("approval_kind", ["release_approval", "compliance_signoff"]);

/** An approval binds a person to one exact plan (by hash); a new plan voids it. */
export const approvals = pgTable(
  "approvals",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    deploymentId: uuid("deployment_id")
      .notNull()
      .references(() => deployments.id),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    kind: approvalKindEnum("kind").notNull(),
    planHash: text("plan_hash").notNull(),
    comment: text("comment"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("approvals_once_per_user_kind_plan").on(t.deploymentId, t.userId, t.kind, t.planHash)],
);

/** One execution of a deployment by a worker. */
export const runs = pgTable("runs", {
  id: uuid("id").primaryKey().defaultRandom(),
  deploymentId: uuid("deployment_id")
    .notNull()
    .references(() => deployments.id),
  state: text("state").notNull(),
  worker: text("worker"),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp("finished_at", { withTimezone: true }),
  error: jsonb("error"),
});

/** The live log: every executor event, in order. */
export const runEvents = pgTable(
  "run_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: uuid("run_id")
      .notNull()
      .references(() => runs.id),
    at: timestamp("at", { withTimezone: true, precision: 6 }).notNull(),
    type: text("type").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("run_events_run_idx").on(t.runId, t.id)],
);

export type Deployment = typeof deployments.$inferSelect;
export type Approval = typeof approvals.$inferSelect;
export type Run = typeof runs.$inferSelect;
export type RunEventRow = typeof runEvents.$inferSelect;
