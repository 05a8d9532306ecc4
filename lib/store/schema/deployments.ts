import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { Plan } from "../../plan/plan";
import type { RiskSummary } from "../../deployments/risk";
import type { SchemaSnapshot } from "../../plan/schema-snapshot";
import { DEPLOYMENT_STATES } from "./deployment-states";
import { environments } from "./environments";
import { users } from "./users";

export { DEPLOYMENT_STATES, DEPLOYMENT_STATE_GROUPS, type DeploymentState } from "./deployment-states";
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
    /** Grows by one whenever a recomputed plan differs; approvals count only for the revision they were given on. */
    planRevision: integer("plan_revision").notNull().default(1),
    /**
     * What makes two requests "the same deployment" (e.g. `apply:0008_performance_indexes`): while one
     * is not terminal, opening another with the same key on the environment returns it instead.
     */
    openKey: text("open_key"),
    /** The person who started the apply or rollback (queued it); the author is createdBy. */
    startedBy: uuid("started_by").references(() => users.id),
    /** The plan's risk summary against the live target (lib/deployments/risk), stored with each plan revision. */
    risk: jsonb("risk").$type<RiskSummary>(),
    rejectReason: text("reject_reason"),
    /** Set when verification ran after the apply: "passed" or "failed". */
    verification: text("verification"),
    /** The target's schema right before the apply, as a catalog snapshot (downloaded as SQL DDL). Older rows also hold a pg_dump result. */
    schemaBefore: jsonb("schema_before").$type<{ catalog: SchemaSnapshot; dump?: unknown }>(),
    /** Set when the author declined the backup of destroyed data, saying why; the run records the decline. */
    backupDeclinedReason: text("backup_declined_reason"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("deployments_environment_state_idx").on(t.environmentId, t.state),
    // The Overview's "last finished deployment per environment" among thousands: one index probe each.
    index("deployments_finished_by_environment_idx").on(t.environmentId, t.number).where(sql`${t.state} in ('succeeded', 'failed')`),
    // At most one deployment per environment is queued or running: the store refuses a second.
    uniqueIndex("deployments_one_active_per_environment").on(t.environmentId).where(sql`state in ('queued', 'running')`),
    // One unfinished deployment per environment and key: repeated clicks and parallel CLI calls open one.
    uniqueIndex("deployments_one_open_per_target")
      .on(t.environmentId, t.openKey)
      .where(sql`state in ('awaiting_approval', 'approved', 'queued', 'running') and open_key is not null`),
  ],
);

export const approvalKindEnum = pgEnum("approval_kind", ["release_approval", "compliance_signoff"]);

/**
 * An approval binds a person to one exact plan: its revision (which never comes back once a plan
 * changed, even when a later plan has the same hash) and, as evidence, its hash.
 */
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
    planRevision: integer("plan_revision").notNull(),
    comment: text("comment"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("approvals_once_per_user_kind_revision").on(t.deploymentId, t.userId, t.kind, t.planRevision)],
);

/** One execution of a deployment by a worker. */
export const runs = pgTable(
  "runs",
  {
  id: uuid("id").primaryKey().defaultRandom(),
  deploymentId: uuid("deployment_id")
    .notNull()
    .references(() => deployments.id),
  state: text("state").notNull(),
  worker: text("worker"),
  /** Who started it (queued the deployment); null for runs recorded before this was kept. */
  startedBy: uuid("started_by").references(() => users.id),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp("finished_at", { withTimezone: true }),
  error: jsonb("error"),
  },
  (t) => [index("runs_deployment_idx").on(t.deploymentId)],
);

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
  (t) => [
    index("run_events_run_idx").on(t.runId, t.id),
    // A run's first or latest event of one type in one probe (the Overview's progress of a running deployment).
    index("run_events_run_type_idx").on(t.runId, t.type, t.id),
  ],
);

export type Deployment = typeof deployments.$inferSelect;
export type Approval = typeof approvals.$inferSelect;
export type Run = typeof runs.$inferSelect;
export type RunEventRow = typeof runEvents.$inferSelect;
