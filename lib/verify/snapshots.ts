/**
 * Verification runs as the console records them: one snapshot per run and environment, with its
 * outcome, the full report as evidence and the target's version at the time. Runs come from a
 * person (the button, the CLI), from the worker right after an apply, or from the schedule.
 */
import { and, desc, eq, gte, lte } from "drizzle-orm";
import type postgres from "postgres";
import { appendAuditEvent, type AuditActor } from "../audit/log";
import type { Catalog } from "../migrations";
import type { EnvironmentRegistry } from "../config/environments";
import { AppError } from "../errors";
import { readStatus } from "../executor";
import type { LedgerStatus } from "../ledger";
import { driftObjects, measureDrift } from "../plan/drift";
import { snapshotSchema } from "../introspect/schema-snapshot";
import type { ShadowServer } from "../plan/shadow";
import type { Store } from "../store/db";
import { recordVerification } from "../deployments/lifecycle";
import { environments, verificationSnapshots, type DriftSummary, type VerificationSnapshot } from "../store/schema";
import { recordEnvironmentStatus } from "../targets/status-summary";
import { GROUPS } from "./registry";
import { runVerification } from "./run";
import type { CheckGroup, CheckResult, VerificationReport } from "./types";
import { connect, describeConnectionError } from "../connection/connect";

export type VerificationTrigger = "manual" | "after-apply" | "schedule" | "cli";
export type VerificationOutcome = "passed" | "failed" | "error";

export interface VerifyDeps {
  store: Store;
  registry: EnvironmentRegistry;
  catalog: () => Promise<Catalog>;
  /** Where the ledger's implied schema is rebuilt for the drift check (a getter may throw: unconfigured). */
  shadow?: ShadowServer;
}

/** What the dashboards store: the report, or why there is none. */
export type StoredReport = { report: VerificationReport } | { unreachable: string };

function outcomeOf(report: VerificationReport): VerificationOutcome {
  if (report.counts.fail > 0) return "failed";
  if (report.counts.error > 0) return "error";
  return "passed";
}

export async function verifyEnvironment(
  deps: VerifyDeps,
  environment: string,
  trigger: VerificationTrigger,
  options: { actor?: AuditActor; deploymentId?: string } = {},
): Promise<VerificationSnapshot> {
  const env = deps.registry.byName(environment);
  if (!env) throw new AppError("not_found", `There is no environment "${environment}".`);
  const startedAt = new Date();
  let stored: StoredReport;
  let outcome: VerificationOutcome;
  let targetVersion: string | null = null;
  let counts: VerificationReport["counts"] = { pass: 0, empty: 0, warn: 0, fail: 0, error: 0 };
  let ledger: LedgerStatus | null = null;
  let drift: DriftSummary | null = null;
  if (!env.url) {
    stored = { unreachable: `${env.urlEnv} is unset.` };
    outcome = "error";
  } else {
    const sql = connect(env.url, { max: 3, application: "migration-console verify" });
    try {
      const catalog = await deps.catalog();
      ledger = await readStatus(env.url, catalog);
      targetVersion = ledger.current;
      const [report, driftSummary] = await Promise.all([runVerification(sql), checkDrift(deps, catalog, ledger.current, env.url, sql)]);
      drift = driftSummary;
      report.results.push(...driftResults(drift));
      for (const r of report.results.filter((r) => r.checkId.startsWith(DRIFT_CHECK_PREFIX))) report.counts[r.status]++;
      report.ok = report.counts.fail === 0 && report.counts.error === 0;
      stored = { report };
      outcome = outcomeOf(report);
      counts = report.counts;
    } catch (e) {
      stored = { unreachable: `The target could not be verified: ${describeConnectionError(e)}` };
      outcome = "error";
    } finally {
      await sql.end({ timeout: 5 });
    }
  }

  return deps.store.db.transaction(async (tx) => {
    const [envRow] = await tx.select().from(environments).where(eq(environments.name, env.name));
    if (!envRow) throw new AppError("not_found", `${env.name} is not registered in the store yet.`);
    const [row] = await tx
      .insert(verificationSnapshots)
      .values({
        environmentId: envRow.id,
        deploymentId: options.deploymentId ?? null,
        trigger,
        outcome,
        passed: counts.pass + counts.warn + (counts.empty ?? 0),
        failed: counts.fail,
        errored: counts.error,
        report: stored as unknown as Record<string, unknown>,
        targetVersion,
        startedAt,
      })
      .returning();
    if (options.deploymentId) {
      await recordVerification(tx, options.deploymentId, { outcome, failed: counts.fail, errored: counts.error, passed: counts.pass + counts.warn + (counts.empty ?? 0) });
    }
    await appendAuditEvent(tx, options.actor ?? { id: null, email: "system" }, {
      action: "verification.ran",
      subjectType: "environment",
      subjectId: env.name,
      details: { trigger, outcome, targetVersion, failed: counts.fail, errored: counts.error, snapshotId: row!.id, deploymentId: options.deploymentId ?? null },
    });
    const results = "report" in stored ? stored.report.results : [];
    await recordEnvironmentStatus(
      tx,
      envRow,
      {
        ledger,
        error: "unreachable" in stored ? stored.unreachable : null,
        snapshot: row!,
        failingGroups: GROUPS.filter((g) => results.some((r) => r.group === g.id && (r.status === "fail" || r.status === "error"))).map((g) => g.id),
        drift,
        serverVersion: "report" in stored ? stored.report.serverVersion : null,
      },
      options.actor ?? { id: null, email: "system" },
    );
    return row!;
  });
}

/** Drift results carry check ids of this prefix, one per board group the drift touches. */
export const DRIFT_CHECK_PREFIX = "drift:";

async function checkDrift(deps: VerifyDeps, catalog: Catalog, current: string | null, targetUrl: string, sql: postgres.Sql): Promise<DriftSummary> {
  const checkedAt = new Date().toISOString();
  let shadow: ShadowServer | undefined;
  try {
    shadow = deps.shadow;
  } catch (e) {
    return { drifted: null, objects: [], unchecked: (e as Error).message, checkedAt };
  }
  if (!shadow) return { drifted: null, objects: [], unchecked: "No server for rebuilding the implied schema (SHADOW_DATABASE_URL).", checkedAt };
  try {
    const live = await snapshotSchema(sql);
    const objects = driftObjects(await measureDrift({ shadow, catalog, current, targetUrl, live }));
    return { drifted: objects.length > 0, objects, unchecked: null, checkedAt };
  } catch (e) {
    return { drifted: null, objects: [], unchecked: `Drift could not be checked: ${describeConnectionError(e)}`, checkedAt };
  }
}

/** A failing result in each board group that drift touches (RLS, policies, tagged data), naming the objects. */
function driftResults(drift: DriftSummary): CheckResult[] {
  const byGroup = new Map<string, string[]>();
  for (const o of drift.objects) if (o.group) byGroup.set(o.group, [...(byGroup.get(o.group) ?? []), o.object]);
  return [...byGroup].map(([group, objects]) => ({
    checkId: `${DRIFT_CHECK_PREFIX}${group}`,
    group: group as CheckGroup,
    title: "No change by hand since the last deployment",
    severity: "critical",
    controls: [{ framework: "LGPD", ref: "Art. 46" }],
    fix: "Find out who changed the live schema and why; restore it through a migration (or write a migration that makes the change on purpose), then verify again.",
    status: "fail",
    summary: `The live schema differs from what its applied migrations produce: ${objects.length} ${objects.length === 1 ? "object" : "objects"} changed by hand (${objects.slice(0, 5).join(", ")}${objects.length > 5 ? ", …" : ""}).`,
    evidence: { objects, sql: "" },
    durationMs: 0,
  }));
}

/** The newest snapshot of every environment that has one. */
export async function latestSnapshots(store: Store): Promise<Map<string, VerificationSnapshot>> {
  const rows = await store.db
    .selectDistinctOn([verificationSnapshots.environmentId], { snapshot: verificationSnapshots, environment: environments.name })
    .from(verificationSnapshots)
    .innerJoin(environments, eq(environments.id, verificationSnapshots.environmentId))
    .orderBy(verificationSnapshots.environmentId, desc(verificationSnapshots.createdAt));
  return new Map(rows.map((r) => [r.environment, r.snapshot]));
}

/** One environment's snapshots, newest first, optionally within a period. */
export async function snapshotHistory(store: Store, environment: string, options: { limit?: number; from?: Date; to?: Date } = {}) {
  const [envRow] = await store.db.select().from(environments).where(eq(environments.name, environment));
  if (!envRow) return [];
  const where = [eq(verificationSnapshots.environmentId, envRow.id)];
  if (options.from) where.push(gte(verificationSnapshots.createdAt, options.from));
  if (options.to) where.push(lte(verificationSnapshots.createdAt, options.to));
  return store.db
    .select()
    .from(verificationSnapshots)
    .where(and(...where))
    .orderBy(desc(verificationSnapshots.createdAt))
    .limit(options.limit ?? 1000);
}

export function reportOf(snapshot: VerificationSnapshot): StoredReport {
  return snapshot.report as unknown as StoredReport;
}

/** The worker's post-apply step: a failure marks the deployment "applied, verification failed". */
export function verifyAfterApply(deps: VerifyDeps) {
  return async (deploymentId: string, environment: string): Promise<void> => {
    await verifyEnvironment(deps, environment, "after-apply", { deploymentId });
  };
}
