/**
 * A deployment's plan: what will run on the target, what the lint finds, what a rehearsal on a
 * shadow database measured, how the schema changes, and a hash that binds approvals to all of it.
 *
 * The hash covers the environment, the migrations' ids and checksums, the target's live schema
 * fingerprint and the findings; so editing a file, a target that moved or a new migration voids
 * every approval given before. The rehearsal's timings are evidence, not part of the hash.
 */
import { createHash } from "node:crypto";
import postgres from "postgres";
import type { BackfillPlan } from "../backfills/plan";
import { canonicalJson } from "../canonical-json";
import type { Catalog, LockLevel, Migration } from "../catalog";
import { applyMigrations, ExecutorError, rollbackMigrations, selectForApply, selectForRollback, type RunEvent, type Unit } from "../executor";
import { computeStatus, readLedger, type LedgerStatus } from "../ledger";
import { lintMigrations, type Finding } from "../lint";
import { driftRequiresComplianceSignoff } from "./compliance";
import { diffSnapshots, type SchemaDiff } from "./diff";
import { schemaFingerprint, snapshotEntryKey, snapshotSchema, type SchemaSnapshot } from "./schema-snapshot";
import { createShadowDatabase, createShadowDatabaseAt, type ShadowServer } from "./shadow";

export type PlanKind = "apply" | "rollback";

export interface PlanRequest {
  environment: string;
  /** The target's URL. Contains a password: never stored in the plan. */
  targetUrl: string;
  catalog: Catalog;
  kind: PlanKind;
  /** apply: up to this tag (default: the latest). rollback: back to this tag (null: everything). */
  to: string | null;
}

export interface PlannedStatement {
  /** 1-based within its file. */
  number: number;
  summary: string;
  line: number;
  lockLevel: LockLevel | null;
  transactional: boolean;
  destructive: boolean;
  /** Measured in the rehearsal; null when the rehearsal did not reach it. */
  rehearsalMs: number | null;
}

export interface PlannedMigration {
  tag: string;
  idx: number;
  /** Checksum of the script that will run (the .down.sql for a rollback). */
  checksum: string;
  file: string;
  sql: string;
  transactional: boolean;
  statements: PlannedStatement[];
}

export interface Plan {
  environment: string;
  kind: PlanKind | "backfill";
  /** The target's version when planned, and the one it will be at afterwards. */
  from: string | null;
  to: string | null;
  migrations: PlannedMigration[];
  findings: Finding[];
  requiresComplianceSignoff: boolean;
  /** Why this plan cannot run as it is (edited applied file, out-of-order migration, ...). */
  blockers: string[];
  drift: { drifted: boolean; explanation: string; diff: SchemaDiff | null };
  schemaDiff: SchemaDiff | null;
  rehearsal: { ok: boolean; durationMs: number; error: string | null };
  targetFingerprint: string;
  hash: string;
  createdAt: string;
  timings: { totalMs: number; basisMs: number; rehearsalMs: number };
  /** A backfill deployment's plan (lib/backfills); its `migrations` are empty. */
  backfill?: BackfillPlan;
}

/** What the hash is computed from; cheap enough to recompute right before an apply. */
export interface PlanBasis {
  status: LedgerStatus;
  units: Unit[];
  blockers: string[];
  findings: Finding[];
  liveSnapshot: SchemaSnapshot;
  targetFingerprint: string;
  hash: string;
}

export function planHash(input: { environment: string; kind: PlanKind; units: Unit[]; targetFingerprint: string; findings: Finding[] }): string {
  return createHash("sha256")
    .update(
      canonicalJson({
        environment: input.environment,
        kind: input.kind,
        migrations: input.units.map((u) => ({ id: u.migration.tag, checksum: u.script.checksum })),
        targetFingerprint: input.targetFingerprint,
        findings: input.findings.map((f) => ({ id: f.id, severity: f.severity })),
      }),
    )
    .digest("hex");
}

/** A migration-shaped view of the script a unit runs, so the lint reads down scripts too. */
function scriptAsMigration(unit: Unit): Migration {
  return { ...unit.migration, file: unit.script.file, sql: unit.script.sql, checksum: unit.script.checksum, statements: unit.script.statements };
}

export async function planBasis(request: PlanRequest): Promise<PlanBasis> {
  const sql = postgres(request.targetUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    let status: LedgerStatus;
    let liveSnapshot: SchemaSnapshot;
    try {
      status = computeStatus(request.catalog, await readLedger(sql));
      liveSnapshot = await snapshotSchema(sql);
    } catch (e) {
      throw new ExecutorError("unreachable", `The ${request.environment} target cannot be read: ${(e as Error).message.replace(/postgres(ql)?:\/\/\S+/g, "(url)")}`);
    }
    const blockers: string[] = [];
    let units: Unit[] = [];
    try {
      units = request.kind === "apply" ? selectForApply(request.catalog, status, { to: request.to }) : selectForRollback(request.catalog, status, request.to);
    } catch (e) {
      if (!(e instanceof ExecutorError)) throw e;
      blockers.push(e.message);
    }
    const existingTables = new Set(liveSnapshot.tables.map((t) => `${t.schema}.${t.name}`));
    const findings = await lintMigrations(units.map(scriptAsMigration), { existingTables });
    const targetFingerprint = schemaFingerprint(liveSnapshot);
    return {
      status,
      units,
      blockers,
      findings,
      liveSnapshot,
      targetFingerprint,
      hash: planHash({ environment: request.environment, kind: request.kind, units, targetFingerprint, findings }),
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function computePlan(request: PlanRequest, shadow: ShadowServer): Promise<Plan> {
  const started = performance.now();
  const basis = await planBasis(request);
  const basisMs = Math.round(performance.now() - started);
  const { status, units } = basis;

  const durations = new Map<string, number>();
  const rehearsalStarted = performance.now();
  let rehearsal: Plan["rehearsal"] = { ok: true, durationMs: 0, error: null };
  let drift: Plan["drift"] = { drifted: false, explanation: "The live schema is exactly what its applied migrations produce.", diff: null };
  let schemaDiff: SchemaDiff | null = null;

  if (basis.blockers.length === 0) {
    // The target's current version rebuilt from its migrations, to compare with the live catalog.
    const shadowDb = status.current ? await createShadowDatabaseAt(shadow, request.catalog, status.current) : await createShadowDatabase(shadow);
    try {
      const implied = await snapshotOf(shadowDb.url);
      // Owners differ legitimately when the shadow server's superuser is not the target's owner, and so
      // do the privileges an owner holds on what it created: read the shadow's user as the target's.
      const impliedOnTarget = withRoleRenamed(implied, urlUser(shadow.adminUrl), urlUser(request.targetUrl));
      const driftDiff = diffSnapshots(impliedOnTarget, basis.liveSnapshot, { ignoreFields: ["owner"] });
      if (driftDiff.changes.length > 0) {
        drift = {
          drifted: true,
          explanation: `The live ${request.environment} schema differs from what its applied migrations produce (${describeCounts(driftDiff)}): someone changed it by hand, or a migration ran outside the console. The rehearsal ran on the schema the migrations imply; review the drift before approving.`,
          diff: driftDiff,
        };
      }
      const onEvent = (e: RunEvent) => {
        if (e.type === "statement_finished") durations.set(`${e.tag}#${e.statement}`, e.durationMs);
      };
      try {
        if (request.kind === "apply") {
          await applyMigrations({ url: shadowDb.url, catalog: request.catalog, to: units.at(-1)?.migration.tag ?? status.current, actor: "rehearsal", allowOutOfOrder: true, onEvent });
        } else {
          await rollbackMigrations({ url: shadowDb.url, catalog: request.catalog, to: request.to, actor: "rehearsal", onEvent });
        }
      } catch (e) {
        rehearsal = { ok: false, durationMs: 0, error: e instanceof ExecutorError ? e.message : (e as Error).message };
      }
      schemaDiff = diffSnapshots(implied, await snapshotOf(shadowDb.url));
    } finally {
      await shadowDb.drop();
    }
  } else {
    rehearsal = { ok: false, durationMs: 0, error: "Not rehearsed: the plan is blocked (see blockers)." };
  }
  rehearsal.durationMs = Math.round(performance.now() - rehearsalStarted);

  const migrations: PlannedMigration[] = units.map(({ migration, script }) => ({
    tag: migration.tag,
    idx: migration.idx,
    checksum: script.checksum,
    file: script.file.split("/").slice(-2).join("/"),
    sql: script.sql,
    transactional: script.statements.every((s) => s.analysis.transactional),
    statements: script.statements.map((s) => ({
      number: s.index + 1,
      summary: s.analysis.summary,
      line: s.line,
      lockLevel: s.analysis.lockLevel,
      transactional: s.analysis.transactional,
      destructive: s.analysis.destructive,
      rehearsalMs: durations.get(`${migration.tag}#${s.index + 1}`) ?? null,
    })),
  }));

  const to =
    request.kind === "apply"
      ? (units.at(-1)?.migration.tag ?? status.current)
      : request.to;
  return {
    environment: request.environment,
    kind: request.kind,
    from: status.current,
    to,
    migrations,
    findings: basis.findings,
    requiresComplianceSignoff: basis.findings.some((f) => f.requiresComplianceSignoff) || driftRequiresComplianceSignoff(drift.diff),
    blockers: basis.blockers,
    drift,
    schemaDiff,
    rehearsal,
    targetFingerprint: basis.targetFingerprint,
    hash: basis.hash,
    createdAt: new Date().toISOString(),
    timings: { totalMs: Math.round(performance.now() - started), basisMs, rehearsalMs: rehearsal.durationMs },
  };
}

const urlUser = (url: string) => decodeURIComponent(new URL(url).username);

/** The snapshot with privileges granted to role `from` shown as granted to `to`, in snapshot order. */
function withRoleRenamed(snapshot: SchemaSnapshot, from: string, to: string): SchemaSnapshot {
  if (!from || !to || from === to) return snapshot;
  const privileges = snapshot.privileges.map((p) => (p.grantee === from ? { ...p, grantee: to } : p));
  const key = (p: (typeof privileges)[number]) => snapshotEntryKey("privileges", p);
  privileges.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { ...snapshot, privileges };
}

async function snapshotOf(url: string): Promise<SchemaSnapshot> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await snapshotSchema(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function describeCounts(d: SchemaDiff): string {
  return (["added", "removed", "changed"] as const)
    .filter((k) => d.counts[k] > 0)
    .map((k) => `${d.counts[k]} ${k}`)
    .join(", ");
}
