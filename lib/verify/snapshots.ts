/**
 * Verification runs as the console records them: one snapshot per run and environment, with its
 * outcome, the full report as evidence and the target's version at the time. Runs come from a
 * person (the button, the CLI), from the worker right after an apply, or from the schedule.
 */
import { and, desc, eq, gte, lte } from "drizzle-orm";
import postgres from "postgres";
import { appendAuditEvent, type AuditActor } from "../audit/log";
import type { Catalog } from "../catalog";
import type { EnvironmentRegistry } from "../config/environments";
import { AppError } from "../errors";
import { readStatus } from "../executor";
import type { Store } from "../store/db";
import { recordVerification } from "../deployments/lifecycle";
import { environments, verificationSnapshots, type VerificationSnapshot } from "../store/schema";
import { runVerification } from "./run";
import type { VerificationReport } from "./types";

export type VerificationTrigger = "manual" | "after-apply" | "schedule" | "cli";
export type VerificationOutcome = "passed" | "failed" | "error";

export interface VerifyDeps {
  store: Store;
  registry: EnvironmentRegistry;
  catalog: () => Promise<Catalog>;
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
  let counts = { pass: 0, warn: 0, fail: 0, error: 0 };
  if (!env.url) {
    stored = { unreachable: `${env.urlEnv} is unset.` };
    outcome = "error";
  } else {
    const sql = postgres(env.url, { max: 3, onnotice: () => {}, connect_timeout: 5 });
    try {
      targetVersion = (await readStatus(env.url, await deps.catalog())).current;
      const report = await runVerification(sql);
      stored = { report };
      outcome = outcomeOf(report);
      counts = report.counts;
    } catch (e) {
      stored = { unreachable: `The target could not be verified: ${(e as Error).message.replace(/postgres(ql)?:\/\/\S+/g, "(url)")}` };
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
        passed: counts.pass + counts.warn,
        failed: counts.fail,
        errored: counts.error,
        report: stored as unknown as Record<string, unknown>,
        targetVersion,
        startedAt,
      })
      .returning();
    if (options.deploymentId) {
      await recordVerification(tx, options.deploymentId, { outcome, failed: counts.fail, errored: counts.error, passed: counts.pass + counts.warn });
    }
    await appendAuditEvent(tx, options.actor ?? { id: null, email: "system" }, {
      action: "verification.ran",
      subjectType: "environment",
      subjectId: env.name,
      details: { trigger, outcome, targetVersion, failed: counts.fail, errored: counts.error, snapshotId: row!.id, deploymentId: options.deploymentId ?? null },
    });
    return row!;
  });
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
