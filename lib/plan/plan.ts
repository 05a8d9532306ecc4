/**
 * A deployment's plan: what will run on the target, what the lint finds, what a rehearsal on a
 * shadow database measured, how the schema changes, and a hash that binds approvals to all of it.
 *
 * The hash covers the environment, the migrations' ids and checksums, the target's live schema
 * fingerprint and the findings; so editing a file, a target that moved or a new migration voids
 * every approval given before. The rehearsal's timings are evidence, not part of the hash.
 */
import { createHash } from "node:crypto";
import type { BackfillPlan } from "../backfills/plan";
import { canonicalJson } from "../canonical-json";
import type { Catalog, LockLevel, Migration } from "../migrations";
import { applyMigrations, asConnectionError, ExecutorError, rollbackMigrations, selectForApply, selectForRollback, type RunEvent, type Unit } from "../executor";
import { destroyedByPlan, type DestroyedData } from "../executor/destroys";
import { computeStatus, readLedger, type LedgerStatus } from "../ledger";
import { lintMigrations, type Finding } from "../lint";
import { judgeSchemaDiff, type DiffFinding } from "../lint/diff-rules";
import { clusterWideChange } from "./cluster-wide";
import { driftRequiresComplianceSignoff } from "./compliance";
import { diffSnapshots, type SchemaDiff } from "./diff";
import { assertRehearsalIsolated } from "./isolation";
import { schemaFingerprint, snapshotEntryKey, snapshotQuietSchema, snapshotSchema, type SchemaSnapshot } from "../introspect/schema-snapshot";
import { createShadowDatabase, createShadowDatabaseAt, keepClusterObjects, restoreClusterObjectsAfter, type ShadowServer } from "./shadow";
import { asConnectionError as connectionFailure, connect, forgetKeptConnection, keptConnection, withDeadline } from "../connection/connect";

export type PlanKind = "apply" | "rollback";

export interface PlanRequest {
  environment: string;
  /** The target's URL. Contains a password: never stored in the plan. */
  targetUrl: string;
  catalog: Catalog;
  kind: PlanKind;
  /** apply: up to this tag (default: the latest). rollback: back to this tag (null: everything). */
  to: string | null;
  /** Bound on each read of the target (ms); PLAN_READ_TIMEOUT_MS when omitted. */
  readTimeoutMs?: number;
}

export interface PlannedStatement {
  /** 1-based within its file. */
  number: number;
  summary: string;
  line: number;
  lockLevel: LockLevel | null;
  transactional: boolean;
  destructive: boolean;
  /**
   * What cluster-wide object it changes ("a role", "a database", ...), or null. Such a statement was
   * rehearsed only on the isolated shadow cluster; applied, it changes every database of the target's cluster.
   */
  clusterWide: string | null;
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
  /**
   * The lint's findings on the statements, then the findings judged from the rehearsal's schema diff
   * (`console/diff-…`: what the change does, however it is spelled), attributed to the statement that
   * most likely did it.
   */
  findings: Finding[];
  /** Any finding (or drift finding) needs the compliance officer. */
  requiresComplianceSignoff: boolean;
  /** Why this plan cannot run as it is (edited applied file, out-of-order migration, ...). */
  blockers: string[];
  /** `findings`: the drift judged like a change (a tagged column dropped by hand, RLS switched off, ...). */
  drift: { drifted: boolean; explanation: string; diff: SchemaDiff | null; findings: DiffFinding[] };
  schemaDiff: SchemaDiff | null;
  /** The data each migration destroys or rewrites, with estimates; the executor backs it up first. Absent in plans stored before it existed. */
  destroys?: DestroyedData[];
  /** `failed`: where the rehearsal stopped, the first statement that failed (never the aborted transaction after it). */
  rehearsal: { ok: boolean; durationMs: number; error: string | null; failed?: { tag?: string; file?: string; statement?: number; line?: number; column?: number; sqlstate?: string } };
  targetFingerprint: string;
  hash: string;
  createdAt: string;
  /**
   * basisMs: ledger, target schema and lint; rehearsalMs: shadow copy, rehearsed statements and the schema
   * read after them. Both start once the ledger is read and run side by side, so they overlap.
   */
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
  /** server_version_num of the target. */
  serverVersionNum: number;
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

/**
 * `onSelected` is told what will run as soon as the ledger is read (before the target's schema and the
 * lint), so a caller can start the rehearsal meanwhile.
 */
/** How long the plan's connection to a target stays open unused (seconds). */
const PLAN_READER_IDLE_SECONDS = 10;
const PLAN_READER = "migration-console plan";
/**
 * How long one read of the target may take (ms). A connection that went half-open after it was made
 * (a tunnel or the network died, no RST) would otherwise leave the plan waiting for TCP keepalive,
 * minutes; the biggest catalogs read here take seconds.
 */
export const PLAN_READ_TIMEOUT_MS = 30_000;

export async function planBasis(request: PlanRequest, onSelected?: (selected: { status: LedgerStatus; units: Unit[]; blockers: string[] }) => void): Promise<PlanBasis> {
  // Kept between plans (a deployment is planned again and again): reads only, no session state, no prepared statements.
  const sql = keptConnection(request.targetUrl, { application: PLAN_READER, idleTimeoutSeconds: PLAN_READER_IDLE_SECONDS, prepare: false, fetchTypes: false });
  const read = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await withDeadline(work(), request.readTimeoutMs ?? PLAN_READ_TIMEOUT_MS);
    } catch (e) {
      // Not kept after a connection failure (a half-open socket would fail the next plan too).
      if (connectionFailure(e)) forgetKeptConnection(request.targetUrl, PLAN_READER);
      const failure = asConnectionError(e);
      throw new ExecutorError(failure.code === "sql_error" ? "unreachable" : failure.code, `The ${request.environment} target cannot be read: ${failure.message}`);
    }
  };
  let status: LedgerStatus;
  let liveSnapshot: SchemaSnapshot;
  let serverVersionNum: number;
  const blockers: string[] = [];
  let units: Unit[] = [];
  const [ledger, [server]] = await read(() => Promise.all([readLedger(sql), sql<{ v: number }[]>`select current_setting('server_version_num')::int as v`]));
  status = computeStatus(request.catalog, ledger);
  serverVersionNum = server!.v;
  try {
    units = request.kind === "apply" ? selectForApply(request.catalog, status, { to: request.to }) : selectForRollback(request.catalog, status, request.to);
  } catch (e) {
    if (!(e instanceof ExecutorError)) throw e;
    blockers.push(e.message);
  }
  onSelected?.({ status, units, blockers });
  liveSnapshot = await read(() => snapshotSchema(sql));
  const existingTables = new Set(liveSnapshot.tables.map((t) => `${t.schema}.${t.name}`));
  const existingColumnTypes = new Map(liveSnapshot.columns.map((c) => [`${c.schema}.${c.table}.${c.name}`, c.type]));
  const findings = await lintMigrations(units.map(scriptAsMigration), {
    existingTables,
    existingColumnTypes,
    validatedNotNullChecks: validatedNotNullChecks(liveSnapshot),
    functionsWithFixedSearchPath: functionsWithFixedSearchPath(liveSnapshot),
    pgMajorVersion: Math.floor(serverVersionNum / 10_000),
  });
  const targetFingerprint = schemaFingerprint(liveSnapshot);
  return {
    status,
    units,
    blockers,
    findings,
    liveSnapshot,
    serverVersionNum,
    targetFingerprint,
    hash: planHash({ environment: request.environment, kind: request.kind, units, targetFingerprint, findings }),
  };
}

export async function computePlan(request: PlanRequest, shadow: ShadowServer): Promise<Plan> {
  const started = performance.now();
  // The rehearsal needs only what will run: it goes ahead while the target's schema is read and linted.
  let rehearsing: Promise<Rehearsed> | null = null;
  let basis: PlanBasis;
  try {
    basis = await planBasis(request, ({ status, units, blockers }) => {
      if (blockers.length > 0) return;
      rehearsing = rehearse(request, shadow, status, units);
      rehearsing.catch(() => {}); // awaited below
    });
  } catch (e) {
    await (rehearsing as Promise<Rehearsed> | null)?.catch(() => {});
    throw e;
  }
  const basisMs = Math.round(performance.now() - started);
  const { status, units } = basis;

  let drift: Plan["drift"] = { drifted: false, explanation: "The live schema is exactly what its applied migrations produce.", diff: null, findings: [] };
  const rehearsed = await (rehearsing as Promise<Rehearsed> | null);
  const rehearsal: Plan["rehearsal"] = rehearsed?.outcome ?? { ok: false, durationMs: 0, error: "Not rehearsed: the plan is blocked (see blockers)." };
  const durations = rehearsed?.durations ?? new Map<string, number>();
  const schemaDiff = rehearsed ? diffSnapshots(rehearsed.implied, rehearsed.after) : null;
  if (rehearsed) {
    // Owners differ legitimately when the shadow server's superuser is not the target's owner, and so
    // do the privileges an owner holds on what it created: read the shadow's user as the target's.
    const impliedOnTarget = withRoleRenamed(rehearsed.implied, urlUser(shadow.adminUrl), urlUser(request.targetUrl));
    const driftDiff = diffSnapshots(impliedOnTarget, basis.liveSnapshot, { ignoreFields: ["owner"] });
    if (driftDiff.changes.length > 0) {
      drift = {
        drifted: true,
        explanation: `The live ${request.environment} schema differs from what its applied migrations produce (${describeCounts(driftDiff)}): someone changed it by hand, or a migration ran outside the console. The rehearsal ran on the schema the migrations imply; review the drift before approving.`,
        diff: driftDiff,
        findings: judgeSchemaDiff(driftDiff, { origin: "drift", expectedGrantees: [urlUser(request.targetUrl)] }),
      };
    }
  }
  const destroys = await destroyedByPlan(request.targetUrl, units, schemaDiff);

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
      clusterWide: clusterWideChange(s),
      rehearsalMs: durations.get(`${migration.tag}#${s.index + 1}`) ?? null,
    })),
  }));

  // Judged from what the rehearsal did; a function of what the hash covers (files and target), so not hashed again.
  const changeFindings = judgeSchemaDiff(schemaDiff, { origin: "rehearsal", expectedGrantees: [urlUser(shadow.adminUrl)] });
  const findings = [...basis.findings, ...attributeDiffFindings(changeFindings, units, basis.findings)];

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
    findings,
    requiresComplianceSignoff:
      findings.some((f) => f.requiresComplianceSignoff) || driftRequiresComplianceSignoff(drift),
    blockers: basis.blockers,
    drift,
    schemaDiff,
    destroys,
    rehearsal,
    targetFingerprint: basis.targetFingerprint,
    hash: basis.hash,
    createdAt: new Date().toISOString(),
    timings: { totalMs: Math.round(performance.now() - started), basisMs, rehearsalMs: rehearsal.durationMs },
  };
}

/** A shadow database holds no data worth a copy. */
const REHEARSAL_BACKUP = { declined: "rehearsal on a throw-away database" };

/**
 * Snapshots of freshly copied templates, by template name: a copy of a template always has the template's
 * schema (the name covers the server version, the user and every file up to that version).
 */
const templateSnapshots = new Map<string, SchemaSnapshot>();
const TEMPLATE_SNAPSHOTS_KEPT = 16;

interface Rehearsed {
  /** The schema the target's applied migrations imply: the shadow database before the rehearsal. */
  implied: SchemaSnapshot;
  /** The shadow database after the rehearsal (as far as it got when it failed). */
  after: SchemaSnapshot;
  outcome: Plan["rehearsal"];
  /** Per statement (`tag#number`), as measured in the rehearsal. */
  durations: Map<string, number>;
}

/**
 * Runs `units` on a copy of the target's current version rebuilt from its migrations on the isolated
 * shadow cluster: a failure of the rehearsed statements is its outcome; a shadow server that cannot be
 * used throws.
 */
async function rehearse(request: PlanRequest, shadow: ShadowServer, status: LedgerStatus, units: Unit[]): Promise<Rehearsed> {
  const started = performance.now();
  const ready = (async () => {
    await assertRehearsalIsolated(shadow.adminUrl, { name: request.environment, url: request.targetUrl });
    return status.current ? createShadowDatabaseAt(shadow, request.catalog, status.current) : createShadowDatabase(shadow);
  })();
  // Cluster-wide statements are rehearsed only on the shadow cluster, and what they change there is
  // put back after: the guard connects while the throw-away database is made, and reads the
  // cluster's roles, databases and settings once it is.
  const touchesCluster = units.some((u) => u.script.statements.some((s) => clusterWideChange(s) !== null || unwrapKind(s) === "DoStmt"));
  const clusterKept = touchesCluster ? keepClusterObjects(shadow, units.map((u) => u.script.sql), { readAfter: ready }) : null;
  clusterKept?.catch(() => {}); // awaited below
  let restoreCluster: (() => Promise<void>) | null = null;
  let db: Awaited<typeof ready>;
  try {
    db = await ready;
  } catch (e) {
    await (await clusterKept?.catch(() => null))?.();
    throw e;
  }
  // Read the schema before and after, in halves side by side (nothing else touches this database);
  // connected while the rehearsal runs, so their connections cost no wait.
  const readers = [connect(db.url, { application: "migration-console plan" }), connect(db.url, { application: "migration-console plan" })] as const;
  const snapshotOfCopy = () => snapshotQuietSchema(readers[0], readers[1]);
  try {
    const known = db.template ? templateSnapshots.get(db.template) : undefined;
    const implied = known ?? (await snapshotOfCopy());
    if (db.template && !known) {
      templateSnapshots.set(db.template, implied);
      if (templateSnapshots.size > TEMPLATE_SNAPSHOTS_KEPT) templateSnapshots.delete(templateSnapshots.keys().next().value!);
    }
    if (known) for (const reader of readers) reader`select 1`.catch(() => {}); // connects now; a failure shows in the read afterwards
    const durations = new Map<string, number>();
    const onEvent = (e: RunEvent) => {
      if (e.type === "statement_finished") durations.set(`${e.tag}#${e.statement}`, e.durationMs);
    };
    if (clusterKept) restoreCluster = await clusterKept;
    let outcome: Plan["rehearsal"] = { ok: true, durationMs: 0, error: null };
    try {
      if (request.kind === "apply") {
        await applyMigrations({ url: db.url, catalog: request.catalog, to: units.at(-1)?.migration.tag ?? status.current, actor: "rehearsal", allowOutOfOrder: true, onEvent, backup: REHEARSAL_BACKUP, throwAway: true });
      } else {
        await rollbackMigrations({ url: db.url, catalog: request.catalog, to: request.to, actor: "rehearsal", onEvent, backup: REHEARSAL_BACKUP, throwAway: true });
      }
    } catch (e) {
      outcome =
        e instanceof ExecutorError
          ? {
              ok: false,
              durationMs: 0,
              error: e.message,
              failed: { tag: e.details.tag, file: e.details.file, statement: e.details.statement, line: e.details.line, column: e.details.column, sqlstate: e.details.sqlstate },
            }
          : { ok: false, durationMs: 0, error: (e as Error).message };
    }
    const after = await snapshotOfCopy();
    outcome.durationMs = Math.round(performance.now() - started);
    return { implied, after, outcome, durations };
  } finally {
    await Promise.all(readers.map((reader) => reader.end({ timeout: 5 })));
    // Off the plan's path: the database is dropped and cluster-wide objects put back before the next rehearsal
    // on that server starts (closeShadowConnections waits for both).
    const dropped = db.drop();
    dropped.catch(() => {});
    if (restoreCluster) restoreClusterObjectsAfter(shadow, dropped, restoreCluster);
    // Failed before the guard was awaited: it still holds the cluster's turn, so it is let go (and put back) all the same.
    else if (clusterKept) void clusterKept.then((restore) => restoreClusterObjectsAfter(shadow, dropped, restore), () => {});
  }
}

const unwrapKind = (s: { ast: unknown }) => Object.keys((s.ast ?? {}) as object)[0];

export const urlUser = (url: string) => decodeURIComponent(new URL(url).username);

/** The snapshot with privileges granted to role `from` shown as granted to `to`, in snapshot order. */
export function withRoleRenamed(snapshot: SchemaSnapshot, from: string, to: string): SchemaSnapshot {
  if (!from || !to || from === to) return snapshot;
  const privileges = snapshot.privileges.map((p) => (p.grantee === from ? { ...p, grantee: to } : p));
  const key = (p: (typeof privileges)[number]) => snapshotEntryKey("privileges", p);
  privileges.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { ...snapshot, privileges };
}

function describeCounts(d: SchemaDiff): string {
  return (["added", "removed", "changed"] as const)
    .filter((k) => d.counts[k] > 0)
    .map((k) => `${d.counts[k]} ${k}`)
    .join(", ");
}

/** `schema.table.column` of every column a validated `CHECK (col IS NOT NULL)` covers: SET NOT NULL skips its scan. */
function validatedNotNullChecks(snapshot: SchemaSnapshot): Set<string> {
  const covered = new Set<string>();
  for (const c of snapshot.constraints) {
    if (c.type !== "check" || !c.validated) continue;
    const m = /^CHECK \(\(("?)([^"()\s]+)\1 IS NOT NULL\)\)$/.exec(c.definition);
    if (m) covered.add(`${c.schema}.${c.table}.${m[2]}`);
  }
  return covered;
}

/** `schema.name` of the functions whose every overload has a SET search_path (ALTER FUNCTION … SECURITY DEFINER keeps it). */
function functionsWithFixedSearchPath(snapshot: SchemaSnapshot): Set<string> {
  const fixed = new Map<string, boolean>();
  for (const f of snapshot.functions) {
    const key = `${f.schema}.${f.name}`;
    fixed.set(key, (fixed.get(key) ?? true) && f.config.some((c) => c.startsWith("search_path=")));
  }
  return new Set([...fixed].filter(([, all]) => all).map(([key]) => key));
}

/** Which statement findings already say what a diff rule says (about the same statement). */
const COVERED_BY: Record<string, readonly string[]> = {
  "console/diff-tagged-table-removed": ["console/drop-tagged-table"],
  "console/diff-tagged-column-removed": ["console/drop-tagged-column", "console/rename-tagged-column"],
  "console/diff-tagged-column-retyped": ["console/retype-tagged-column"],
  "console/diff-rls-off": ["console/disable-rls", "console/no-force-rls"],
  "console/diff-policy-removed": ["console/drop-policy"],
  "console/diff-policy-loosened": ["console/policy-always-true", "console/policy-missing-tenant-predicate"],
  "console/diff-policy-changed": ["console/policy-always-true", "console/policy-missing-tenant-predicate", "console/rls-change"],
  "console/diff-privilege-beyond-app-role": ["console/grant-to-public"],
};

/**
 * A diff finding as a plan finding, on the first statement that names the object's table or schema (the
 * last statement of the plan when none does, e.g. a function that drops it). Dropped when a statement
 * rule already reported it on that statement.
 */
function attributeDiffFindings(found: DiffFinding[], units: Unit[], existing: Finding[]): Finding[] {
  const statements = units.flatMap(({ migration, script }) => script.statements.map((s) => ({ migration, script, s })));
  if (statements.length === 0) return [];
  const ids = new Set(existing.map((f) => f.id));
  const out: Finding[] = [];
  for (const d of found) {
    const [schema, table] = d.object.split("/").slice(d.rule === "console/diff-privilege-beyond-app-role" ? 1 : 0);
    const at =
      statements.find(({ s }) => mentionsTable(s, schema!, table ?? "")) ??
      statements.find(({ s }) => mentionsSchema(s, schema!)) ??
      statements.at(-1)!;
    const covered = COVERED_BY[d.rule] ?? [];
    if (existing.some((f) => f.tag === at.migration.tag && f.statement === at.s.index + 1 && covered.includes(f.rule))) continue;
    const base = `${at.migration.tag}:${at.s.index + 1}:${d.rule}`;
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}#${n}`;
    ids.add(id);
    out.push({
      id,
      rule: d.rule,
      source: "console",
      severity: d.severity,
      message: d.message,
      why: d.why,
      tag: at.migration.tag,
      file: at.script.file,
      statement: at.s.index + 1,
      line: at.s.line,
      column: at.s.column,
      summary: at.s.analysis.summary,
      touches: d.touches,
      requiresComplianceSignoff: d.requiresComplianceSignoff,
    });
  }
  return out;
}

function mentionsTable(s: Unit["script"]["statements"][number], schema: string, table: string): boolean {
  const a = s.analysis;
  const is = (t: { schema: string; name: string }) => t.schema === schema && t.name === table;
  return a.tables.some(is) || a.locks.some((l) => is(l.relation)) || a.columns.some((c) => is(c.table)) || a.rls.some((m) => is(m.table));
}

function mentionsSchema(s: Unit["script"]["statements"][number], schema: string): boolean {
  const [kind, value] = Object.entries(s.ast ?? {})[0] ?? [];
  if (kind !== "DropStmt" || (value as { removeType?: string }).removeType !== "OBJECT_SCHEMA") return s.analysis.tables.some((t) => t.schema === schema);
  const names = ((value as { objects?: { String?: { sval?: string } }[] }).objects ?? []).map((o) => o.String?.sval);
  return names.includes(schema);
}
