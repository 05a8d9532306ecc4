/**
 * A backfill deployment's plan: the rows it will touch (the planner's estimate and a count on the
 * target), the columns it writes with their classification (tagged data needs the compliance
 * officer, through the same lint findings as a migration), a rehearsal of a few batches on a shadow
 * database holding a sample of the rows, and the duration that rehearsal predicts.
 *
 * The hash covers the environment, the backfill file's checksum, the target's schema fingerprint
 * and the findings: editing the file or changing the table voids the approvals. Row counts are
 * evidence, not part of the hash (the application changes them every second).
 */
import { redactSecrets } from "../connection/connect";
import { createHash } from "node:crypto";
import type postgres from "postgres";
import { canonicalJson } from "../canonical-json";
import type { Catalog } from "../migrations";
import { classificationOf, type DataClass } from "../../db/schema/classification";
import { AppError } from "../errors";
import { computeStatus, readLedger, type LedgerStatus } from "../ledger";
import { lintSql, type Finding } from "../lint";
import type { Plan } from "../plan/plan";
import { schemaFingerprint, snapshotSchema } from "../introspect/schema-snapshot";
import { assertRehearsalIsolated } from "../plan/isolation";
import { createShadowDatabase, createShadowDatabaseAt, type ShadowServer } from "../plan/shadow";
import type { BackfillDefinition } from "./definition";
import { DEFAULT_PRESSURE_LIMITS } from "./pressure";
import { runBatches } from "./runner";
import { checkBackfillSql, qualifiedTable, quoteIdent, remainingStatement, reviewStatement } from "./sql";
import { connectTarget, inspectTarget } from "./target";

export interface BackfillPlan {
  name: string;
  file: string;
  checksum: string;
  description: string;
  table: string;
  key: string;
  keyType: string | null;
  requires: string;
  /** What one batch runs, as a reviewer reads it ($1 = the batch's keys). */
  statement: string;
  predicate: string;
  columns: { name: string; expression: string; dataClass: DataClass | null }[];
  rows: { estimated: number | null; counted: number | null; tableEstimate: number | null; countNote: string | null };
  tuning: BackfillDefinition["batch"];
  rehearsal: { ok: boolean; sampleRows: number; batches: { rows: number; ms: number }[]; msPerRow: number | null; error: string | null };
  /** Rows counted × the rehearsal's cost per row; null without both. */
  estimatedDurationMs: number | null;
  connectedAs: string | null;
}

export interface BackfillPlanRequest {
  environment: string;
  targetUrl: string;
  catalog: Catalog;
  definition: BackfillDefinition;
}

/** How many batches the rehearsal runs, and the most rows it copies for them. */
const REHEARSAL_BATCHES = 3;
const REHEARSAL_MAX_ROWS = 2_000;
const COUNT_TIMEOUT_MS = 30_000;

export function backfillPlanHash(input: { environment: string; definition: BackfillDefinition; targetFingerprint: string; findings: Finding[] }): string {
  return createHash("sha256")
    .update(
      canonicalJson({
        environment: input.environment,
        kind: "backfill",
        backfill: { name: input.definition.name, checksum: input.definition.checksum },
        targetFingerprint: input.targetFingerprint,
        findings: input.findings.map((f) => ({ id: f.id, severity: f.severity })),
      }),
    )
    .digest("hex");
}

interface Basis {
  status: LedgerStatus;
  blockers: string[];
  findings: Finding[];
  targetFingerprint: string;
  keyType: string | null;
  tableEstimate: number | null;
  connectedAs: string | null;
  hash: string;
}

async function basisOn(sql: postgres.Sql, request: BackfillPlanRequest): Promise<Basis> {
  const def = request.definition;
  await checkBackfillSql(def);
  let status: LedgerStatus;
  let fingerprint: string;
  try {
    status = computeStatus(request.catalog, await readLedger(sql));
    fingerprint = schemaFingerprint(await snapshotSchema(sql));
  } catch (e) {
    throw new AppError("unavailable", `The ${request.environment} target cannot be read: ${redactSecrets((e as Error).message)}`);
  }
  const blockers: string[] = [];
  const required = status.migrations.find((m) => m.tag === def.requires);
  if (!required) blockers.push(`${def.file} requires migration ${def.requires}, which is not in db/migrations.`);
  else if (required.state !== "applied") blockers.push(`${def.file} requires migration ${def.requires}, which ${request.environment} has not applied (it is at ${status.current ?? "an empty database"}): deploy it first.`);
  let facts: Awaited<ReturnType<typeof inspectTarget>> | null = null;
  if (blockers.length === 0) {
    try {
      facts = await inspectTarget(sql, def);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      blockers.push(e.message);
    }
  }
  const findings = await lintSql(reviewStatement(def), { existingTables: new Set([def.table]), tag: def.name, file: def.file });
  return {
    status,
    blockers,
    findings,
    targetFingerprint: fingerprint,
    keyType: facts?.keyType ?? null,
    tableEstimate: facts?.estimatedTableRows ?? null,
    connectedAs: facts?.connectedAs ?? null,
    hash: backfillPlanHash({ environment: request.environment, definition: def, targetFingerprint: fingerprint, findings }),
  };
}

/** The hash as it would be now; cheap enough to recompute right before a run. */
export async function backfillPlanBasisHash(request: BackfillPlanRequest): Promise<string> {
  const sql = connectTarget(request.targetUrl, `${request.definition.name} plan`);
  try {
    return (await basisOn(sql, request)).hash;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function computeBackfillPlan(request: BackfillPlanRequest, shadow: ShadowServer): Promise<Plan> {
  const started = performance.now();
  const def = request.definition;
  const sql = connectTarget(request.targetUrl, `${def.name} plan`);
  try {
    const basis = await basisOn(sql, request);
    const basisMs = Math.round(performance.now() - started);
    const rows: BackfillPlan["rows"] = { estimated: null, counted: null, tableEstimate: basis.tableEstimate, countNote: null };
    let rehearsal: BackfillPlan["rehearsal"] = { ok: false, sampleRows: 0, batches: [], msPerRow: null, error: "Not rehearsed: the plan is blocked (see blockers)." };
    const rehearsalStarted = performance.now();
    if (basis.blockers.length === 0 && basis.keyType) {
      rows.estimated = await estimateRows(sql, def);
      try {
        rows.counted = await sql.begin(async (tx) => {
          await tx.unsafe(`SET LOCAL statement_timeout = ${COUNT_TIMEOUT_MS}`);
          const [r] = await tx.unsafe<{ remaining: string }[]>(remainingStatement(def));
          return Number(r!.remaining);
        });
      } catch (e) {
        rows.countNote = `Not counted: ${(e as Error).message} (the estimate stands).`;
      }
      rehearsal = await rehearse(sql, request, basis, shadow);
    }
    const rehearsalMs = Math.round(performance.now() - rehearsalStarted);
    const toTouch = rows.counted ?? rows.estimated;
    const backfill: BackfillPlan = {
      name: def.name,
      file: def.file,
      checksum: def.checksum,
      description: def.description,
      table: def.table,
      key: def.key,
      keyType: basis.keyType,
      requires: def.requires,
      statement: reviewStatement(def),
      predicate: def.predicate,
      columns: Object.entries(def.set).map(([name, expression]) => ({ name, expression, dataClass: classificationOf(def.schema, def.tableName, name) })),
      rows,
      tuning: def.batch,
      rehearsal,
      estimatedDurationMs: toTouch !== null && rehearsal.msPerRow !== null ? Math.round(toTouch * rehearsal.msPerRow) : null,
      connectedAs: basis.connectedAs,
    };
    return {
      environment: request.environment,
      kind: "backfill",
      from: basis.status.current,
      to: basis.status.current,
      migrations: [],
      findings: basis.findings,
      requiresComplianceSignoff: basis.findings.some((f) => f.requiresComplianceSignoff) || backfill.columns.some((c) => c.dataClass !== null),
      blockers: basis.blockers,
      drift: { drifted: false, explanation: "A backfill changes rows, not the schema.", diff: null, findings: [] },
      schemaDiff: null,
      rehearsal: { ok: rehearsal.ok, durationMs: rehearsalMs, error: rehearsal.error },
      targetFingerprint: basis.targetFingerprint,
      hash: basis.hash,
      createdAt: new Date().toISOString(),
      timings: { totalMs: Math.round(performance.now() - started), basisMs, rehearsalMs },
      backfill,
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function estimateRows(sql: postgres.Sql, def: BackfillDefinition): Promise<number | null> {
  try {
    const [r] = await sql.unsafe<{ "QUERY PLAN": [{ Plan: { "Plan Rows": number } }] }[]>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${qualifiedTable(def)} WHERE (${def.predicate})`);
    return Math.round(r!["QUERY PLAN"][0].Plan["Plan Rows"]);
  } catch {
    return null;
  }
}

/**
 * A few batches on a throw-away copy of the table's schema holding a sample of the rows that need
 * the backfill (copied from the target with triggers and foreign keys off, dropped with the copy).
 */
async function rehearse(target: postgres.Sql, request: BackfillPlanRequest, basis: Basis, shadow: ShadowServer): Promise<BackfillPlan["rehearsal"]> {
  const def = request.definition;
  // Enough rows for three batches that each may double (1 + 2 + 4 times the first).
  const sampleSize = Math.min(REHEARSAL_MAX_ROWS, def.batch.initialSize * (2 ** REHEARSAL_BATCHES - 1));
  // Like a migration's rehearsal: only on a shadow server that hosts no target (lib/plan/isolation).
  await assertRehearsalIsolated(shadow.adminUrl, { name: request.environment, url: request.targetUrl });
  const shadowDb = basis.status.current ? await createShadowDatabaseAt(shadow, request.catalog, basis.status.current) : await createShadowDatabase(shadow);
  const copy = connectTarget(shadowDb.url, `${def.name} rehearsal`);
  try {
    const sample = await target.unsafe<{ rows: string | null; count: number }[]>(
      `SELECT coalesce(json_agg(s), '[]')::text AS rows, count(*)::int AS count FROM (SELECT * FROM ${qualifiedTable(def)} WHERE (${def.predicate}) ORDER BY ${def.key} LIMIT ${sampleSize}) s`,
    );
    const sampleRows = sample[0]?.count ?? 0;
    await copy.begin(async (tx) => {
      await tx.unsafe("SET LOCAL session_replication_role = replica");
      // Generated columns are computed again on the copy; identity keys keep the target's values.
      const columns = await tx<{ name: string }[]>`
        select attname as name from pg_attribute
        where attrelid = ${qualifiedTable(def)}::regclass and attnum > 0 and not attisdropped and attgenerated = '' order by attnum`;
      const list = columns.map((c) => quoteIdent(c.name)).join(", ");
      await tx.unsafe(`INSERT INTO ${qualifiedTable(def)} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM json_populate_recordset(NULL::${qualifiedTable(def)}, $1::text::json)`, [sample[0]?.rows ?? "[]"]);
    });
    const batches: { rows: number; ms: number }[] = [];
    await runBatches({
      sql: copy,
      definition: def,
      keyType: basis.keyType!,
      tuning: def.batch,
      limits: { ...DEFAULT_PRESSURE_LIMITS, maxTransactionAgeMs: 3_600_000, maxLockWaitMs: 3_600_000 },
      start: { cursor: null, batchSize: def.batch.initialSize, rowsPerSecond: null },
      maxBatches: REHEARSAL_BATCHES,
      hooks: {
        control: async () => "run",
        saveBatch: async (b) => void batches.push({ rows: b.changed, ms: b.ms }),
        pressure: async () => {},
        retry: async () => {},
      },
    });
    const doneRows = batches.reduce((s, b) => s + b.rows, 0);
    const doneMs = batches.reduce((s, b) => s + b.ms, 0);
    const [left] = await copy.unsafe<{ remaining: string }[]>(remainingStatement(def));
    const expectedLeft = Math.max(0, sampleRows - doneRows);
    if (Number(left!.remaining) !== expectedLeft) {
      return { ok: false, sampleRows, batches, msPerRow: null, error: `After the rehearsal ${left!.remaining} sample rows still match the predicate, ${expectedLeft} expected: the set clause must make the predicate false, or a replayed batch would change rows again.` };
    }
    return { ok: true, sampleRows, batches, msPerRow: doneRows > 0 ? doneMs / doneRows : null, error: null };
  } catch (e) {
    return { ok: false, sampleRows: 0, batches: [], msPerRow: null, error: `The rehearsal failed: ${redactSecrets((e as Error).message)}` };
  } finally {
    await copy.end({ timeout: 5 });
    await shadowDb.drop();
  }
}
