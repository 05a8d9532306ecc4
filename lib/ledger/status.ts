/**
 * What is applied on a target, compared with the migration files. Fixes drizzle's two blind spots:
 * it decides "pending" by `created_at` alone, so it never notices an edited applied file, and it
 * silently skips a migration merged later with an older `when`.
 */
import type { Catalog, Migration } from "../migrations";
import type postgres from "postgres";
import { ensureAndReadLedger, readLedger, sqlLiteral, type Ledger } from "./tables";

export type MigrationState = "applied" | "pending" | "partially_applied" | "checksum_mismatch" | "out_of_order";

/** What an interrupted non-transactional migration left on the target. */
export interface PartialState {
  /** Statements of the file that committed, per the run's progress row (0 when none was recorded). */
  statementsDone: number;
  statementsTotal: number;
  /** The run that got this far, when it recorded progress. */
  runId: string | null;
  /** Each CONCURRENTLY index the file builds, as the catalog has it now. */
  indexes: { name: string; state: "valid" | "invalid" | "missing" }[];
}

/** Catalog facts that status cannot read from the ledger: the state of named CONCURRENTLY indexes ("schema.name"). */
export interface TargetFacts {
  indexes: Map<string, { valid: boolean }>;
}

export interface MigrationStatus {
  tag: string;
  idx: number;
  when: number;
  state: MigrationState;
  /** sha256 of the file now. */
  checksum: string;
  /** The hash recorded when it was applied, when applied. */
  appliedHash: string | null;
  /** From the console's history; null when applied by another tool (drizzle-kit). */
  appliedAt: Date | null;
  appliedBy: string | null;
  durationMs: number | null;
  runId: string | null;
  explanation: string;
  /** Set when state is partially_applied. */
  partial: PartialState | null;
}

export interface UnknownLedgerEntry {
  hash: string;
  createdAt: number;
  tag: string | null;
  explanation: string;
}

export interface LedgerStatus {
  migrations: MigrationStatus[];
  /** In the target's ledger, not in the files (the checkout is behind, or a file was removed). */
  unknown: UnknownLedgerEntry[];
  /** The newest applied migration, by journal order. */
  current: string | null;
  /** Not applied yet, partially applied ones included (the next apply completes them). */
  pending: string[];
  problems: { checksumMismatch: string[]; outOfOrder: string[]; partiallyApplied: string[]; unknown: number };
}

const EXPLAIN: Record<MigrationState, string> = {
  applied: "Applied; the file is unchanged since.",
  pending: "Not applied yet.",
  partially_applied:
    "Interrupted part-way: some of its non-transactional statements committed, and it is not recorded as applied. The next apply completes it (an invalid index is dropped and rebuilt).",
  checksum_mismatch:
    "Applied, but the file has been edited since: the database holds what the old file did. Restore the file, or accept the new checksum explicitly if the edit is cosmetic.",
  out_of_order:
    "Never applied, yet older than a migration that was: it was merged after a newer one ran. drizzle-kit would skip it silently; apply it explicitly (--allow-out-of-order) after checking it does not conflict.",
};

/** "schema.name" of every named CONCURRENTLY index the file builds. */
export function concurrentIndexNames(m: Migration): string[] {
  return m.statements.flatMap((s) => (s.analysis.concurrentIndex?.name ? [`${s.analysis.concurrentIndex.schema}.${s.analysis.concurrentIndex.name}`] : []));
}

/**
 * A migration not recorded as applied is partially applied when its run recorded progress, or when
 * (with catalog facts) an index it builds CONCURRENTLY exists: a kill inside its first build leaves
 * an invalid index before any progress row is written.
 */
function partialState(m: Migration, ledger: Pick<Ledger, "progress">, facts: TargetFacts | undefined): PartialState | null {
  const progress = ledger.progress.find((p) => p.createdAt === m.when && p.hash === m.checksum);
  const names = concurrentIndexNames(m);
  const indexes = names.map((name) => {
    const fact = facts?.indexes.get(name);
    return { name, state: fact ? (fact.valid ? "valid" : "invalid") : "missing" } as PartialState["indexes"][number];
  });
  const somethingBuilt = indexes.some((i) => i.state !== "missing");
  if (!progress && !somethingBuilt) return null;
  if (progress && progress.statementsDone === 0 && !somethingBuilt) return null;
  return { statementsDone: committedThrough(m, progress?.statementsDone ?? 0, facts), statementsTotal: m.statements.length, runId: progress?.runId ?? null, indexes };
}

/**
 * How many of the migration's statements have committed: what its progress row says, then every
 * named CONCURRENTLY build right after it whose index is valid. The executor writes no progress row
 * after such a build (a valid index is the proof it committed), so a run of index builds costs none.
 */
function committedThrough(m: Migration, recorded: number, facts: TargetFacts | undefined): number {
  let done = recorded;
  for (const s of m.statements.slice(recorded)) {
    const index = s.analysis.concurrentIndex;
    if (!index?.name || !facts?.indexes.get(`${index.schema}.${index.name}`)?.valid) break;
    done += 1;
  }
  return done;
}

export function computeStatus(catalog: Catalog, ledger: Pick<Ledger, "drizzle" | "history"> & Partial<Pick<Ledger, "progress">>, facts?: TargetFacts): LedgerStatus {
  const progressLedger = { progress: ledger.progress ?? [] };
  const byCreatedAt = new Map(ledger.drizzle.map((r) => [r.createdAt, r]));
  const latestApplied = ledger.drizzle.reduce((max, r) => Math.max(max, r.createdAt), -Infinity);
  // The apply behind each ledger row: the latest "up" not undone by a later "down". Keyed by `when` only:
  // an accepted checksum changes the ledger's hash, not who applied the migration and when.
  const lastUp = new Map<number, Ledger["history"][number]>();
  for (const h of ledger.history) {
    if (h.direction === "up") lastUp.set(h.createdAt, h);
    else lastUp.delete(h.createdAt);
  }

  const migrations = catalog.migrations.map((m: Migration): MigrationStatus => {
    const row = byCreatedAt.get(m.when);
    const partial = row ? null : partialState(m, progressLedger, facts);
    const state: MigrationState = row
      ? row.hash === m.checksum
        ? "applied"
        : "checksum_mismatch"
      : partial
        ? "partially_applied"
        : m.when <= latestApplied
          ? "out_of_order"
          : "pending";
    const history = row ? lastUp.get(row.createdAt) : undefined;
    return {
      tag: m.tag,
      idx: m.idx,
      when: m.when,
      state,
      checksum: m.checksum,
      appliedHash: row?.hash ?? null,
      appliedAt: history?.finishedAt ?? null,
      appliedBy: history?.actor ?? null,
      durationMs: history?.durationMs ?? null,
      runId: history?.runId ?? null,
      explanation: EXPLAIN[state],
      partial,
    };
  });

  const known = new Set(catalog.migrations.map((m) => m.when));
  const tagByHistory = new Map(ledger.history.map((h) => [h.createdAt, h.tag]));
  const unknown = ledger.drizzle
    .filter((r) => !known.has(r.createdAt))
    .map((r) => ({
      hash: r.hash,
      createdAt: r.createdAt,
      tag: tagByHistory.get(r.createdAt) ?? null,
      explanation: "Recorded as applied on the target but absent from the migration files: this checkout is behind the target, or a file was deleted.",
    }));

  const appliedTags = migrations.filter((m) => m.state === "applied" || m.state === "checksum_mismatch");
  return {
    migrations,
    unknown,
    current: appliedTags.at(-1)?.tag ?? null,
    pending: migrations.filter((m) => m.state === "pending" || m.state === "partially_applied").map((m) => m.tag),
    problems: {
      partiallyApplied: migrations.filter((m) => m.state === "partially_applied").map((m) => m.tag),
      checksumMismatch: migrations.filter((m) => m.state === "checksum_mismatch").map((m) => m.tag),
      outOfOrder: migrations.filter((m) => m.state === "out_of_order").map((m) => m.tag),
      unknown: unknown.length,
    },
  };
}

/** The catalog facts status needs for the migrations not recorded as applied: one round trip, none when there is nothing to look at. */
export async function readTargetFacts(sql: postgres.Sql, catalog: Catalog, ledger: Pick<Ledger, "drizzle">): Promise<TargetFacts> {
  const applied = new Set(ledger.drizzle.map((r) => r.createdAt));
  const named = catalog.migrations.filter((m) => !applied.has(m.when)).flatMap(concurrentIndexNames);
  const indexes = new Map<string, { valid: boolean }>();
  if (named.length === 0) return { indexes };
  const rows = await sql<{ qualified: string; valid: boolean }[]>`
    select n.nspname || '.' || c.relname as qualified, i.indisvalid and i.indisready as valid
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname || '.' || c.relname in (select jsonb_array_elements_text(${JSON.stringify(named)}::text::jsonb))`;
  for (const r of rows) indexes.set(r.qualified, { valid: r.valid });
  return { indexes };
}

/** Status of a target as a user should see it: ledgers plus what an interrupted migration left. */
export async function readTargetStatus(sql: postgres.Sql, catalog: Catalog): Promise<LedgerStatus> {
  const ledger = await readLedger(sql);
  return computeStatus(catalog, ledger, await readTargetFacts(sql, catalog, ledger));
}

/** The state of every named CONCURRENTLY index of the files, as fixed SQL (it can share a round trip). */
function indexFactsQuery(catalog: Catalog): string {
  const named = catalog.migrations.flatMap(concurrentIndexNames);
  return `select n.nspname || '.' || c.relname as qualified, i.indisvalid and i.indisready as valid
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname || '.' || c.relname in (select jsonb_array_elements_text(${sqlLiteral(JSON.stringify(named))}::jsonb))`;
}

function factsOf(rows: unknown[]): TargetFacts {
  const indexes = new Map<string, { valid: boolean }>();
  for (const r of rows as { qualified: string; valid: boolean }[]) indexes.set(r.qualified, { valid: r.valid });
  return { indexes };
}

/**
 * For the executor, under its apply lock: session settings (`preamble`), the ledger tables created
 * when missing, the ledgers and the state of every named CONCURRENTLY index of the files, then
 * `then` (fixed SQL after the reads: releasing the lock), in one round trip.
 */
export async function ensureAndReadStatus(
  sql: postgres.Sql,
  catalog: Catalog,
  preamble: string[],
  options: { ensure?: boolean; then?: string[] } = {},
): Promise<{ ledger: Ledger; facts: TargetFacts; status: LedgerStatus }> {
  const { ledger, trailing } = await ensureAndReadLedger(sql, preamble, [indexFactsQuery(catalog), ...(options.then ?? [])], options.ensure ?? true);
  const facts = factsOf(trailing[0]!);
  return { ledger, facts, status: computeStatus(catalog, ledger, facts) };
}

/**
 * For the executor, before it writes anything: session settings (`preamble`, fixed SQL), then `selects`
 * (fixed SQL, their rows returned: the apply lock is taken here), which ledger tables exist and the state
 * of every named CONCURRENTLY index of the files, in one round trip; then, when the ledger tables exist,
 * the ledgers in another.
 */
export async function readStatusAfter(
  sql: postgres.Sql,
  catalog: Catalog,
  preamble: string[],
  selects: string[] = [],
): Promise<{ ledger: Ledger; facts: TargetFacts; status: LedgerStatus; tablesExist: boolean; selected: unknown[][] }> {
  const reads = [
    ...selects,
    `select to_regclass('drizzle.__drizzle_migrations') is not null as drizzle, to_regclass('migration_console.history') is not null as history,
            to_regclass('migration_console.progress') is not null as progress`,
    indexFactsQuery(catalog),
  ];
  // Only statements that return rows have a result here: the reads are the last ones.
  const results = ((await sql.unsafe([...preamble, ...reads].join(";\n")).simple()) as unknown as unknown[][]).slice(-reads.length);
  const selected = results.slice(0, selects.length);
  const exists = results.at(-2)![0] as { drizzle: boolean; history: boolean; progress: boolean };
  const facts = factsOf(results.at(-1)!);
  if (!exists.drizzle || !exists.history || !exists.progress) {
    // Never migrated by the console (or by anyone): nothing to read beyond what exists.
    const ledger = !exists.drizzle && !exists.history && !exists.progress ? { drizzle: [], history: [], progress: [] } : await readLedger(sql);
    return { ledger, facts, status: computeStatus(catalog, ledger, facts), tablesExist: false, selected };
  }
  const { ledger } = await ensureAndReadLedger(sql, [], [], false);
  return { ledger, facts, status: computeStatus(catalog, ledger, facts), tablesExist: true, selected };
}
