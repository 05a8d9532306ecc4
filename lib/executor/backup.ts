/**
 * Backups of the data a migration destroys, on the target itself, and their restore on rollback.
 *
 * Before a migration whose statements drop, truncate, delete, overwrite or retype data (destroys.ts),
 * the executor calls this step: in one REPEATABLE READ transaction it copies exactly that data (the
 * destroyed columns with the table's primary key, or whole rows) into `migration_console_backup`,
 * computes a checksum of the copied values in SQL on the source and on the copy (same snapshot), and
 * records the backup in `migration_console.backups`; only after that commits does the migration run.
 * A backup that fails stops the run before anything is destroyed.
 *
 * Why on the target and not in the console's store: the copy never leaves the database that held
 * the data (no personal data travels to or is duplicated in another system), it is as fast as a
 * CREATE TABLE AS, the CLI's direct applies have no store, and the restore is one statement next to
 * the re-created columns. The ledger row sits beside `migration_console.history`, so whether a backup
 * belongs to the migration now in effect is a join on the run id.
 *
 * Who can read it: the schema and its tables belong to the migrating role; USAGE on the schema and
 * every privilege on the tables are revoked from PUBLIC and from any role a default privilege would
 * have granted them to, so an application role (app_user) can read none of it.
 *
 * Rolling back a migration restores, inside the rollback's last transaction, the backups taken when
 * the migration in effect was applied: missing rows are inserted, destroyed column values written
 * back by primary key; the checksum is computed again over the restored rows and must match. A
 * restored backup's copy is dropped (the data is back where it belongs); the others are purged when
 * they expire (`backupRetentionDays` of the environment, default 30).
 */
import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { connect, withoutRowValues } from "../connection/connect";
import type { Unit } from "./selection";
import { ExecutorError } from "./errors";
import { copiedColumns, describeDestroyed, resolveDestroys, type DestroyedData } from "./destroys";

export const BACKUP_SCHEMA = "migration_console_backup";
export const DEFAULT_BACKUP_RETENTION_DAYS = 30;

/** How a run treats destroyed data: back it up (the default), or an explicit, recorded decline. */
export interface BackupSetting {
  /** How long copies are kept before the retention job purges them (default 30 days). */
  retentionDays?: number;
  /** Set to decline the backup, saying why; the decline is recorded on the target and in the run log. */
  declined?: string;
}

export interface BackupRecord {
  id: string;
  runId: string;
  tag: string;
  direction: "up" | "down";
  actor: string;
  table: string;
  rowsRemoved: boolean;
  columns: string[];
  keyColumns: string[];
  copiedColumns: string[];
  predicate: string | null;
  backupTable: string | null;
  rows: number | null;
  bytes: number | null;
  checksum: string | null;
  tagged: boolean;
  classes: string[];
  state: "verified" | "restored" | "discarded" | "purged" | "declined";
  reason: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  restoredAt: Date | null;
  restoredRunId: string | null;
  restoredRows: number | null;
  purgedAt: Date | null;
}

export interface RestoredBackup {
  backupId: string;
  table: string;
  columns: string[];
  rowsRemoved: boolean;
  rows: number;
  /** Rows of the backup whose key no longer exists in the table (deleted since), not restored. */
  unmatched: number;
  checksum: string;
}

export type BackupEvent =
  | { type: "backup_taken"; tag: string; backupId: string; table: string; columns: string[]; rowsRemoved: boolean; backupTable: string; rows: number; bytes: number; tagged: boolean; classes: string[]; expiresAt: string | null }
  | { type: "backup_verified"; tag: string; backupId: string; table: string; rows: number; checksum: string }
  | { type: "backup_declined"; tag: string; reason: string; data: string[] }
  | { type: "backup_discarded"; tag: string; backupId: string; reason: string }
  | ({ type: "backup_restored"; tag: string } & RestoredBackup)
  | { type: "backup_not_restored"; tag: string; backupId: string | null; table: string; reason: string };

export interface BackupSummary {
  taken: { backupId: string; tag: string; table: string; columns: string[]; rows: number; bytes: number; checksum: string; expiresAt: string | null }[];
  restored: (RestoredBackup & { tag: string })[];
  notRestored: { tag: string; table: string; reason: string }[];
  declined: { tag: string; reason: string; data: string[] }[];
}

/** A connection inside an open transaction: postgres.js's sql.begin, or the executor's own (inOneFlight). */
type InTransaction = postgres.Sql | postgres.TransactionSql;

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;
const list = (cols: string[]) => cols.map(q).join(", ");
/** A text[] parameter: the executor's connections do not fetch array types (fetch_types: false). */
const textArray = (sql: postgres.Sql | postgres.TransactionSql, values: readonly string[]) =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::text::jsonb))::text[]`;

/** The ledger of backups, beside migration_console.history. */
const ENSURE_BACKUP_LEDGER_SQL = [
  `CREATE SCHEMA IF NOT EXISTS migration_console`,
  `CREATE TABLE IF NOT EXISTS migration_console.backups (
     id text PRIMARY KEY,
     run_id text NOT NULL,
     tag text NOT NULL,
     migration_hash text NOT NULL,
     direction text NOT NULL CHECK (direction IN ('up', 'down')),
     actor text NOT NULL,
     source_schema text NOT NULL,
     source_table text NOT NULL,
     rows_removed boolean NOT NULL,
     columns text[] NOT NULL,
     key_columns text[] NOT NULL,
     copied_columns text[] NOT NULL,
     predicate text,
     backup_table text,
     row_count bigint,
     bytes bigint,
     checksum text,
     tagged boolean NOT NULL,
     classes text[] NOT NULL,
     state text NOT NULL CHECK (state IN ('verified', 'restored', 'discarded', 'purged', 'declined')),
     reason text,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     expires_at timestamptz,
     restored_at timestamptz,
     restored_run_id text,
     restored_rows bigint,
     purged_at timestamptz
   )`,
];

async function ensureBackupLedger(sql: postgres.Sql | postgres.TransactionSql): Promise<void> {
  for (const statement of ENSURE_BACKUP_LEDGER_SQL) await sql.unsafe(statement);
}

async function ensureBackupStore(sql: postgres.Sql | postgres.TransactionSql): Promise<void> {
  await ensureBackupLedger(sql);
  await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS ${BACKUP_SCHEMA}`);
  await sql.unsafe(`REVOKE ALL ON SCHEMA ${BACKUP_SCHEMA} FROM PUBLIC`);
  // A role granted USAGE by hand (or by a migration's GRANT ... ON ALL SCHEMAS) loses it again.
  await revokeOthers(sql, `SCHEMA ${BACKUP_SCHEMA}`, `select coalesce(nspacl, '{}') as acl, nspowner as owner from pg_namespace where nspname = '${BACKUP_SCHEMA}'`);
}

/** Revokes every privilege held by a role other than the owner (default privileges can add grantees). */
async function revokeOthers(sql: postgres.Sql | postgres.TransactionSql, object: string, aclQuery: string): Promise<void> {
  const grantees = await sql.unsafe<{ grantee: string }[]>(
    `select distinct pg_get_userbyid(a.grantee) as grantee from (${aclQuery}) o cross join lateral aclexplode(o.acl) a where a.grantee <> 0 and a.grantee <> o.owner`,
  );
  for (const g of grantees) await sql.unsafe(`REVOKE ALL ON ${object} FROM ${q(g.grantee)}`);
}

/** count and an order-independent sum of per-row hashes of `columns`, computed by the server. */
async function checksumOf(sql: InTransaction, from: string, columns: string[], where = ""): Promise<{ rows: number; checksum: string }> {
  const [row] = await sql.unsafe<{ rows: string; sum: string }[]>(
    `SELECT count(*)::text AS rows, coalesce(sum(('x' || substr(md5(row(${list(columns)})::text), 1, 15))::bit(60)::int8), 0)::text AS sum FROM ${from}${where}`,
  );
  return { rows: Number(row!.rows), checksum: `md5x60:${row!.sum}` };
}

function backupTableName(id: string, d: DestroyedData): string {
  let name = `${id.slice(0, 8)}_${d.schema}_${d.table}`;
  while (Buffer.byteLength(name) > 63) name = name.slice(0, -1);
  return name;
}

function backupFailed(tag: string, message: string, cause?: unknown): ExecutorError {
  const reason = cause ? `: ${withoutRowValues(cause as { code?: string; message?: string }).message}` : "";
  return new ExecutorError("backup_failed", `The backup before ${tag} failed${reason}${message ? ` (${message})` : ""}. ${tag} did not run.`, {
    tag,
    sqlstate: (cause as { code?: string } | undefined)?.code,
    leftBehind: `${tag} did not run and nothing was destroyed; no partial backup was kept.`,
  });
}

export interface BackupContext {
  runId: string;
  actor: string;
  setting: BackupSetting | undefined;
  emit: (event: BackupEvent) => Promise<void>;
}

/**
 * The executor's step around each migration: `before` backs up what the script destroys, `inside`
 * restores (on rollback) within the transaction that records the migration, `after` reports the
 * restore once that transaction committed.
 */
export function backupStep(ctx: BackupContext) {
  const summary: BackupSummary = { taken: [], restored: [], notRestored: [], declined: [] };
  let pending: BackupEvent[] = [];
  /** This migration's copies and its connection, for after() once it committed. */
  let justTaken: { sql: postgres.Sql; taken: { record: BackupRecord; data: DestroyedData }[] } | null = null;
  let pendingSummary: { restored: BackupSummary["restored"]; notRestored: BackupSummary["notRestored"] } = { restored: [], notRestored: [] };

  const announceDiscarded = async (tag: string, discarded: string[]) => {
    for (const backupId of discarded) {
      await ctx.emit({ type: "backup_discarded", tag, backupId, reason: "it was taken for a run that stopped before this migration ran; a new backup replaces it" });
    }
  };

  return {
    summary: () => summary,

    async before(sql: postgres.Sql, unit: Unit, direction: "up" | "down"): Promise<void> {
      const tag = unit.migration.tag;
      justTaken = null;
      let data: DestroyedData[];
      try {
        data = await resolveDestroys(sql, tag, unit.script, { estimates: Boolean(ctx.setting?.declined) });
        // Before discardStale: a resumed run keeps what the interrupted run backed up. Only a migration
        // with non-transactional statements commits part-way (a transactional one is all or nothing).
        if (direction === "up" && unit.script.statements.some((st) => !st.analysis.transactional)) await adoptResumed(sql, ctx.runId, tag);
      } catch (e) {
        throw backupFailed(tag, "reading what it destroys", e);
      }
      if (data.length === 0) return;
      if (ctx.setting?.declined) {
        const described = data.map(describeDestroyed);
        await recordDeclined(sql, ctx, unit, direction, data, ctx.setting.declined).catch((e) => {
          throw backupFailed(tag, "recording the decline", e);
        });
        summary.declined.push({ tag, reason: ctx.setting.declined, data: described });
        await ctx.emit({ type: "backup_declined", tag, reason: ctx.setting.declined, data: described });
        return;
      }
      const retentionDays = ctx.setting?.retentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS;
      let taken: { record: BackupRecord; data: DestroyedData }[];
      try {
        // A copy of no rows is never kept (copyOne): when none exists, the copy, its schema and its ledger row are skipped.
        const atStake = await rowsAtStake(sql, data).catch(() => ({ rows: true, ledger: true }));
        if (!atStake.rows) {
          if (atStake.ledger) await announceDiscarded(tag, await discardStale(sql, ctx.runId, tag, direction));
          return;
        }
        await ensureBackupStore(sql);
        await announceDiscarded(tag, await discardStale(sql, ctx.runId, tag, direction));
        taken = await sql.begin("isolation level repeatable read", async (tx) => {
          // Refuse rather than copy a filtered subset when row-level security applies to the migrating role.
          await tx`select set_config('row_security', 'off', true)`;
          const out: { record: BackupRecord; data: DestroyedData }[] = [];
          for (const d of data) {
            const record = await copyOne(tx, ctx, unit, direction, d, retentionDays);
            if (record) out.push({ record, data: d });
          }
          return out;
        });
      } catch (e) {
        if (e instanceof ExecutorError) throw e;
        throw backupFailed(tag, "", e);
      }
      justTaken = { sql, taken };
      for (const { record } of taken) {
        summary.taken.push({ backupId: record.id, tag, table: record.table, columns: record.rowsRemoved ? record.copiedColumns : record.columns, rows: record.rows!, bytes: record.bytes!, checksum: record.checksum!, expiresAt: record.expiresAt?.toISOString() ?? null });
        await ctx.emit({
          type: "backup_taken",
          tag,
          backupId: record.id,
          table: record.table,
          columns: record.rowsRemoved ? record.copiedColumns : record.columns,
          rowsRemoved: record.rowsRemoved,
          backupTable: `${BACKUP_SCHEMA}.${record.backupTable}`,
          rows: record.rows!,
          bytes: record.bytes!,
          tagged: record.tagged,
          classes: record.classes,
          expiresAt: record.expiresAt?.toISOString() ?? null,
        });
        await ctx.emit({ type: "backup_verified", tag, backupId: record.id, table: record.table, rows: record.rows!, checksum: record.checksum! });
      }
    },

    async inside(tx: InTransaction, unit: Unit, direction: "up" | "down"): Promise<void> {
      pending = [];
      pendingSummary = { restored: [], notRestored: [] };
      if (direction !== "down") return;
      const tag = unit.migration.tag;
      try {
        const outcome = await restoreInEffect(tx, ctx.runId, tag);
        for (const r of outcome.restored) {
          pending.push({ type: "backup_restored", tag, ...r });
          pendingSummary.restored.push({ tag, ...r });
        }
        for (const n of outcome.notRestored) {
          pending.push({ type: "backup_not_restored", tag, backupId: n.backupId, table: n.table, reason: n.reason });
          pendingSummary.notRestored.push({ tag, table: n.table, reason: n.reason });
        }
      } catch (e) {
        if (e instanceof ExecutorError) throw e;
        throw new ExecutorError("restore_failed", `Looking up and restoring the backups taken when ${tag} was applied failed, so the rollback's transaction was rolled back: ${withoutRowValues(e as { code?: string; message?: string }).message}`, { tag, sqlstate: (e as { code?: string }).code });
      }
    },

    async after(): Promise<void> {
      const copies = justTaken;
      justTaken = null;
      for (const { record, data } of copies?.taken ?? []) {
        // Best effort: a copy left whole (the process died, the target went away) is what it was before.
        const kept = await keepOnlyRemoved(copies!.sql, record, data).catch(() => null);
        if (!kept) continue;
        const entry = summary.taken.find((t) => t.backupId === record.id);
        if (entry) Object.assign(entry, kept);
        await ctx.emit({ type: "backup_verified", tag: record.tag, backupId: record.id, table: record.table, rows: kept.rows, checksum: kept.checksum });
      }
      summary.restored.push(...pendingSummary.restored);
      summary.notRestored.push(...pendingSummary.notRestored);
      for (const e of pending) await ctx.emit(e);
      pending = [];
    },
  };
}

export type BackupStep = ReturnType<typeof backupStep>;

/**
 * Whether any row the items destroy exists now (read as the copy reads it: row-level security off, so
 * a policy that would hide rows raises an error instead), and whether the backup ledger exists. Three
 * round trips, where an empty copy costs a schema, a table and its checksums.
 */
async function rowsAtStake(sql: postgres.Sql, data: DestroyedData[]): Promise<{ rows: boolean; ledger: boolean }> {
  const exists = data.map((d) => {
    const source = `${q(d.schema)}.${q(d.table)}${d.alias ? ` AS ${q(d.alias)}` : ""}`;
    return `exists (SELECT 1 FROM ${source}${d.predicate ? ` WHERE ${d.predicate}` : ""})`;
  });
  // One message, so one implicit transaction, read-only (the predicate is the migration's own SQL):
  // row_security is off for this read only (an RLS policy that would hide rows from the migrating
  // role makes it fail instead of answering "no rows").
  const results = (await sql
    .unsafe(
      `SELECT set_config('transaction_read_only', 'on', true), set_config('row_security', 'off', true); SELECT ${exists.join(" OR ")} AS rows, to_regclass('migration_console.backups') IS NOT NULL AS ledger`,
    )
    .simple()) as unknown as { rows: boolean; ledger: boolean }[][];
  return results.at(-1)![0]!;
}

/** Copies one item and checks the copy; null when the source holds no row (nothing to lose, nothing kept). */
async function copyOne(tx: postgres.TransactionSql, ctx: BackupContext, unit: Unit, direction: "up" | "down", d: DestroyedData, retentionDays: number): Promise<BackupRecord | null> {
  const id = randomUUID();
  const name = backupTableName(id, d);
  const columns = copiedColumns(d);
  const where = d.predicate ? ` WHERE ${d.predicate}` : "";
  const target = `${BACKUP_SCHEMA}.${q(name)}`;
  // The predicate is used as the statement wrote it, against the same table and alias.
  const source = `${q(d.schema)}.${q(d.table)}${d.alias ? ` AS ${q(d.alias)}` : ""}`;
  // Values of a type outside pg_catalog (an enum, a domain, an extension's type) are copied as text:
  // the copy depends on no such type, so a DROP TYPE / DROP EXTENSION ... CASCADE (this migration's or
  // a later one's) cannot drop the column from the copy with the table's. A restore casts them back.
  const userTyped = new Set(
    (
      await tx<{ name: string }[]>`
        select a.attname::text as name from pg_attribute a join pg_type t on t.oid = a.atttypid
        where a.attrelid = to_regclass(${`${q(d.schema)}.${q(d.table)}`}) and a.attnum > 0 and not a.attisdropped and t.typnamespace <> 'pg_catalog'::regnamespace`
    ).map((r) => r.name),
  );
  await tx.unsafe(`CREATE TABLE ${target} AS SELECT ${columns.map((c) => (userTyped.has(c) ? `${q(c)}::text AS ${q(c)}` : q(c))).join(", ")} FROM ${source}${where}`);
  await tx.unsafe(`REVOKE ALL ON TABLE ${target} FROM PUBLIC`);
  await revokeOthers(tx, `TABLE ${target}`, `select coalesce(relacl, '{}') as acl, relowner as owner from pg_class where oid = '${target.replace(/'/g, "''")}'::regclass`);
  const original = await checksumOf(tx, source, columns, where);
  const copy = await checksumOf(tx, target, columns);
  if (original.rows !== copy.rows || original.checksum !== copy.checksum) {
    throw backupFailed(unit.migration.tag, `the copy of ${d.schema}.${d.table} does not match its source: ${copy.rows} rows (${copy.checksum}) vs ${original.rows} (${original.checksum})`);
  }
  if (copy.rows === 0) {
    await tx.unsafe(`DROP TABLE ${target}`);
    return null;
  }
  const [size] = await tx.unsafe<{ bytes: string }[]>(`SELECT pg_total_relation_size('${target.replace(/'/g, "''")}'::regclass)::text AS bytes`);
  const bytes = size!.bytes;
  const [row] = await tx<{ createdAt: Date; expiresAt: Date | null }[]>`
    insert into migration_console.backups (id, run_id, tag, migration_hash, direction, actor, source_schema, source_table, rows_removed, columns, key_columns,
      copied_columns, predicate, backup_table, row_count, bytes, checksum, tagged, classes, state, expires_at)
    values (${id}, ${ctx.runId}, ${unit.migration.tag}, ${unit.script.checksum}, ${direction}, ${ctx.actor}, ${d.schema}, ${d.table}, ${d.rowsRemoved},
      ${textArray(tx, d.columns)}, ${textArray(tx, d.keyColumns)}, ${textArray(tx, columns)}, ${d.predicate}, ${name}, ${copy.rows}, ${Number(bytes)}, ${copy.checksum},
      ${d.tagged}, ${textArray(tx, d.classes as string[])}, 'verified', clock_timestamp() + make_interval(days => ${retentionDays}))
    returning created_at as "createdAt", expires_at as "expiresAt"`;
  return {
    id,
    runId: ctx.runId,
    tag: unit.migration.tag,
    direction,
    actor: ctx.actor,
    table: `${d.schema}.${d.table}`,
    rowsRemoved: d.rowsRemoved,
    columns: d.columns,
    keyColumns: d.keyColumns,
    copiedColumns: columns,
    predicate: d.predicate,
    backupTable: name,
    rows: copy.rows,
    bytes: Number(bytes),
    checksum: copy.checksum,
    tagged: d.tagged,
    classes: d.classes,
    state: "verified",
    reason: null,
    createdAt: row!.createdAt,
    expiresAt: row!.expiresAt,
    restoredAt: null,
    restoredRunId: null,
    restoredRows: null,
    purgedAt: null,
  };
}

/**
 * After the migration committed: a whole-row copy taken for rows it removes keeps only the rows the
 * migration removed. That matters where they could not be selected ahead (a WHERE with now(), a
 * function or a subquery, or the rows referencing those through a foreign key: every row was copied). A row still in the table exactly as copied was not destroyed; kept,
 * a rollback would bring back a row erased since, and fail its check on a row edited since. A row
 * changed meanwhile stays in the copy, as does every row when the copy also holds destroyed columns.
 */
async function keepOnlyRemoved(sql: postgres.Sql, record: BackupRecord, d: DestroyedData): Promise<{ rows: number; bytes: number; checksum: string } | null> {
  // DELETEs only: after a DROP TABLE (or TRUNCATE) the rows are gone whatever now bears the name, a
  // table the migration re-created and filled with the same rows included.
  if (!d.rowsRemoved || d.columns.length > 0 || d.keyColumns.length === 0 || !record.backupTable || !d.statements.every((s) => s.kind === "delete")) return null;
  const live = `${q(d.schema)}.${q(d.table)}`;
  const copy = `${BACKUP_SCHEMA}.${q(record.backupTable)}`;
  const columns = record.copiedColumns;
  return sql.begin(async (tx) => {
    const [state] = await tx<{ live: boolean }[]>`
      select to_regclass(${live}) is not null as live from migration_console.backups where id = ${record.id} and state = 'verified' for update`;
    if (!state?.live) return null;
    await tx`select set_config('row_security', 'off', true)`;
    // Compared as text: the copy holds values of types outside pg_catalog as text (copyOne).
    const sameKey = d.keyColumns.map((k) => `l.${q(k)}::text = c.${q(k)}::text`).join(" AND ");
    const unchanged = `row(${columns.map((c) => `l.${q(c)}`).join(", ")})::text = row(${columns.map((c) => `c.${q(c)}`).join(", ")})::text`;
    const pruned = await tx.unsafe(`DELETE FROM ${copy} c WHERE EXISTS (SELECT 1 FROM ${live} l WHERE ${sameKey} AND ${unchanged})`);
    if (pruned.count === 0) return null;
    const sum = await checksumOf(tx, copy, columns);
    if (sum.rows === 0) {
      await tx.unsafe(`DROP TABLE ${copy}`);
      await tx`update migration_console.backups set state = 'discarded', reason = 'the migration removed none of the copied rows', row_count = 0, checksum = ${sum.checksum}, bytes = 0 where id = ${record.id}`;
      return { rows: 0, bytes: 0, checksum: sum.checksum };
    }
    const [size] = await tx.unsafe<{ bytes: string }[]>(`SELECT pg_total_relation_size('${copy.replace(/'/g, "''")}'::regclass)::text AS bytes`);
    await tx`update migration_console.backups set row_count = ${sum.rows}, checksum = ${sum.checksum}, bytes = ${Number(size!.bytes)} where id = ${record.id}`;
    return { rows: sum.rows, bytes: Number(size!.bytes), checksum: sum.checksum };
  });
}

async function recordDeclined(sql: postgres.Sql, ctx: BackupContext, unit: Unit, direction: "up" | "down", data: DestroyedData[], reason: string): Promise<void> {
  await ensureBackupLedger(sql);
  for (const d of data) {
    await sql`
      insert into migration_console.backups (id, run_id, tag, migration_hash, direction, actor, source_schema, source_table, rows_removed, columns, key_columns,
        copied_columns, predicate, row_count, bytes, tagged, classes, state, reason)
      values (${randomUUID()}, ${ctx.runId}, ${unit.migration.tag}, ${unit.script.checksum}, ${direction}, ${ctx.actor}, ${d.schema}, ${d.table}, ${d.rowsRemoved},
        ${textArray(sql, d.columns)}, ${textArray(sql, d.keyColumns)}, ${textArray(sql, copiedColumns(d))}, ${d.predicate}, ${d.estimatedRows}, ${d.estimatedBytes},
        ${d.tagged}, ${textArray(sql, d.classes as string[])}, 'declined', ${reason})`;
  }
}

/**
 * A run that stopped part-way through a non-transactional migration (its progress row says some
 * statements committed) destroyed data its backup holds, and the run resuming it may find nothing
 * left to copy: the backup passes to the resuming run, so that discardStale keeps it and the rollback
 * of the completed migration (which restores the backups of the run that applied it) restores it.
 */
async function adoptResumed(sql: postgres.Sql, runId: string, tag: string): Promise<void> {
  const [ledgers] = await sql<{ ok: boolean }[]>`select to_regclass('migration_console.backups') is not null and to_regclass('migration_console.progress') is not null as ok`;
  if (!ledgers!.ok) return;
  await sql`
    update migration_console.backups b set run_id = ${runId}
    where b.tag = ${tag} and b.direction = 'up' and b.state = 'verified' and b.run_id <> ${runId}
      and exists (select 1 from migration_console.progress p where p.tag = b.tag and p.run_id = b.run_id and p.statements_done > 0)
      and not exists (select 1 from migration_console.history h where h.tag = b.tag and h.direction = 'up' and h.run_id = b.run_id)`;
}

/**
 * Backups of `tag` taken for runs that never applied it (the process died between the backup and the
 * migration, or the migration failed): they guard nothing. Called under the target's apply lock.
 */
async function discardStale(sql: postgres.Sql, runId: string, tag: string, direction: "up" | "down"): Promise<string[]> {
  return sql.begin(async (tx) => {
    const stale = await tx<{ id: string; backupTable: string }[]>`
      select id, backup_table as "backupTable" from migration_console.backups b
      where b.tag = ${tag} and b.direction = ${direction} and b.state = 'verified' and b.run_id <> ${runId}
        and not exists (select 1 from migration_console.history h where h.tag = b.tag and h.direction = b.direction and h.run_id = b.run_id)
      for update`;
    for (const s of stale) {
      await tx.unsafe(`DROP TABLE IF EXISTS ${BACKUP_SCHEMA}.${q(s.backupTable)}`);
      await tx`update migration_console.backups set state = 'discarded', reason = 'its run stopped before the migration ran' where id = ${s.id}`;
    }
    return stale.map((s) => s.id);
  });
}

interface StoredBackup {
  id: string;
  sourceSchema: string;
  sourceTable: string;
  rowsRemoved: boolean;
  columns: string[];
  keyColumns: string[];
  copiedColumns: string[];
  backupTable: string;
  rowCount: string;
  checksum: string;
}

/** Restores the backups taken when the applied `tag` ran, inside the rollback's transaction `tx`. */
async function restoreInEffect(tx: InTransaction, runId: string, tag: string): Promise<{ restored: RestoredBackup[]; notRestored: { backupId: string | null; table: string; reason: string }[] }> {
  const [exists] = await tx<{ ok: boolean }[]>`select to_regclass('migration_console.backups') is not null as ok`;
  if (!exists!.ok) return { restored: [], notRestored: [] };
  // Rows are put back before column values are written by key: a resumed run's backups can hold rows
  // copied after an earlier copy of one of their columns (adoptResumed), and those rows need it too.
  const backups = await tx<StoredBackup[]>`
    select id, source_schema as "sourceSchema", source_table as "sourceTable", rows_removed as "rowsRemoved", to_jsonb(columns) as columns,
      to_jsonb(key_columns) as "keyColumns", to_jsonb(copied_columns) as "copiedColumns", backup_table as "backupTable", row_count::text as "rowCount", checksum
    from migration_console.backups b
    where b.tag = ${tag} and b.direction = 'up' and b.state = 'verified'
      and b.run_id = (select h.run_id from migration_console.history h where h.tag = ${tag} and h.direction = 'up' order by h.id desc limit 1)
    order by b.rows_removed desc, b.created_at
    for update`;
  const gone = await tx<{ table: string; state: string; at: Date | null }[]>`
    select source_schema || '.' || source_table as table, state, coalesce(purged_at, created_at) as at from migration_console.backups b
    where b.tag = ${tag} and b.direction = 'up' and b.state in ('purged', 'declined')
      and b.run_id = (select h.run_id from migration_console.history h where h.tag = ${tag} and h.direction = 'up' order by h.id desc limit 1)`;
  const restored: RestoredBackup[] = [];
  const notRestored: { backupId: string | null; table: string; reason: string }[] = gone.map((g) => ({
    backupId: null,
    table: g.table,
    reason: g.state === "purged" ? `its backup expired and was purged on ${g.at?.toISOString().slice(0, 10)}: the data stays lost` : "the backup was declined when it was applied: the data stays lost",
  }));
  if (backups.length === 0) return { restored, notRestored };
  await tx`select set_config('row_security', 'off', true)`;
  for (const b of await inRestoreOrder(tx, backups)) {
    const table = `${b.sourceSchema}.${b.sourceTable}`;
    const live = `${q(b.sourceSchema)}.${q(b.sourceTable)}`;
    const [info] = await tx<{ oid: string | null }[]>`select to_regclass(${live})::oid::text as oid`;
    if (!info?.oid) {
      notRestored.push({ backupId: b.id, table, reason: `the rollback did not re-create ${table}; the copy stays in ${BACKUP_SCHEMA}.${b.backupTable}` });
      continue;
    }
    if (b.keyColumns.length === 0) {
      notRestored.push({ backupId: b.id, table, reason: `${table} has no primary key to match rows by; the copy stays in ${BACKUP_SCHEMA}.${b.backupTable}` });
      continue;
    }
    const liveColumns = (
      await tx<{ name: string }[]>`select attname::text as name from pg_attribute where attrelid = ${info.oid}::oid and attnum > 0 and not attisdropped and attgenerated = ''`
    ).map((r) => r.name);
    // Whole rows come back with every copied column, or not at all: restoring the others and dropping
    // the copy would lose the values of a column the rollback did not re-create.
    const missing = [...new Set([...b.keyColumns, ...(b.rowsRemoved ? b.copiedColumns : b.columns)])].filter((c) => !liveColumns.includes(c));
    if (missing.length > 0) {
      notRestored.push({ backupId: b.id, table, reason: `the rollback did not re-create ${missing.join(", ")} in ${table}; the copy stays in ${BACKUP_SCHEMA}.${b.backupTable}` });
      continue;
    }
    const columns = b.copiedColumns.filter((c) => liveColumns.includes(c));
    const values = b.rowsRemoved ? columns.filter((c) => !b.keyColumns.includes(c) && b.columns.includes(c)) : b.columns;
    const copy = `${BACKUP_SCHEMA}.${q(b.backupTable)}`;
    // A value the copy holds as text (its type is outside pg_catalog, see copyOne) is cast to the live column's type.
    const types = await tx<{ copy: boolean; name: string; type: string; oid: string }[]>`
      select a.attrelid <> ${info.oid}::oid as copy, a.attname::text as name, format_type(a.atttypid, a.atttypmod) as type, a.atttypid::text as oid
      from pg_attribute a where a.attrelid in (${info.oid}::oid, to_regclass(${copy})) and a.attnum > 0 and not a.attisdropped`;
    const liveType = new Map(types.filter((t) => !t.copy).map((t) => [t.name, t]));
    const copyType = new Map(types.filter((t) => t.copy).map((t) => [t.name, t.oid]));
    const fromCopy = (alias: string, c: string) => (copyType.get(c) === liveType.get(c)?.oid ? `${alias}.${q(c)}` : `${alias}.${q(c)}::${liveType.get(c)!.type}`);
    const keyMatch = b.keyColumns.map((k) => `l.${q(k)} = ${fromCopy("c", k)}`).join(" AND ");
    // The copy itself first: rows taken out of it (or changed) since its check would otherwise pass
    // the check below, which compares the live rows with whatever the copy still holds.
    const held = await checksumOf(tx, copy, b.copiedColumns);
    if (held.rows !== Number(b.rowCount) || held.checksum !== b.checksum) {
      throw new ExecutorError(
        "restore_failed",
        `The copy of ${table} (${BACKUP_SCHEMA}.${b.backupTable}) no longer matches its check (${held.rows} rows, ${held.checksum} vs ${b.rowCount}, ${b.checksum}): it was changed after the backup. The rollback of ${tag} was undone and the copy kept.`,
        { tag },
      );
    }
    const restoreTriggers = await withoutUserTriggers(tx, info.oid, live);
    if (b.rowsRemoved) {
      await tx.unsafe(
        `INSERT INTO ${live} (${list(columns)}) OVERRIDING SYSTEM VALUE SELECT ${columns.map((c) => fromCopy("c", c)).join(", ")} FROM ${copy} c WHERE NOT EXISTS (SELECT 1 FROM ${live} l WHERE ${keyMatch})`,
      );
    }
    if (values.length > 0) {
      await tx.unsafe(`UPDATE ${live} AS l SET ${values.map((c) => `${q(c)} = ${fromCopy("c", c)}`).join(", ")} FROM ${copy} c WHERE ${keyMatch}`);
    }
    await restoreTriggers();
    await syncSequences(tx, live, b.keyColumns.concat(columns));
    // The check: the live rows the backup's keys reach must hash exactly like the copy.
    const inCopy = `EXISTS (SELECT 1 FROM ${copy} c WHERE ${b.keyColumns.map((k) => `t.${q(k)} = ${fromCopy("c", k)}`).join(" AND ")})`;
    const restoredSum = await checksumOf(tx, `${live} AS t`, columns, ` WHERE ${inCopy}`);
    const inLive = `EXISTS (SELECT 1 FROM ${live} l WHERE ${b.keyColumns.map((k) => `l.${q(k)} = ${fromCopy("t", k)}`).join(" AND ")})`;
    const expected = columns.length === b.copiedColumns.length && restoredSum.rows === Number(b.rowCount) ? { rows: Number(b.rowCount), checksum: b.checksum } : await checksumOf(tx, `${copy} AS t`, columns, ` WHERE ${inLive}`);
    if (restoredSum.rows !== expected.rows || restoredSum.checksum !== expected.checksum) {
      throw new ExecutorError(
        "restore_failed",
        `The values restored into ${table} do not match the backup (${restoredSum.rows} rows, ${restoredSum.checksum} vs ${expected.rows}, ${expected.checksum}); the rollback of ${tag} was undone and the backup kept.`,
        { tag },
      );
    }
    await tx.unsafe(`DROP TABLE ${copy}`);
    await tx`update migration_console.backups set state = 'restored', restored_at = clock_timestamp(), restored_run_id = ${runId}, restored_rows = ${restoredSum.rows} where id = ${b.id}`;
    restored.push({ backupId: b.id, table, columns: b.rowsRemoved ? columns : values, rowsRemoved: b.rowsRemoved, rows: restoredSum.rows, unmatched: Number(b.rowCount) - restoredSum.rows, checksum: restoredSum.checksum });
  }
  return { restored, notRestored };
}

/**
 * Whole rows go back referenced tables first (`DROP TABLE rooms, clinics` is restored clinics, then
 * rooms): a role that is not a superuser restores with foreign keys checked row by row. Otherwise the
 * order of the query (rows before column values, then as taken) is kept; a cycle keeps it too.
 */
async function inRestoreOrder(tx: InTransaction, backups: StoredBackup[]): Promise<StoredBackup[]> {
  const rows = backups.filter((b) => b.rowsRemoved);
  if (rows.length < 2) return backups;
  const name = (b: StoredBackup) => `${q(b.sourceSchema)}.${q(b.sourceTable)}`;
  const edges = await tx<{ child: string; parent: string }[]>`
    select con.conrelid::regclass::text as child, con.confrelid::regclass::text as parent from pg_constraint con
    where con.contype = 'f' and con.conrelid <> con.confrelid
      and con.conrelid = any (select to_regclass(n) from jsonb_array_elements_text(${JSON.stringify(rows.map(name))}::text::jsonb) n)
      and con.confrelid = any (select to_regclass(n) from jsonb_array_elements_text(${JSON.stringify(rows.map(name))}::text::jsonb) n)`;
  const regclass = new Map(
    (await tx<{ name: string; rel: string | null }[]>`select n as name, to_regclass(n)::text as rel from jsonb_array_elements_text(${JSON.stringify(rows.map(name))}::text::jsonb) n`).map((r) => [r.name, r.rel]),
  );
  const left = [...rows];
  const ordered: StoredBackup[] = [];
  while (left.length > 0) {
    const waiting = new Set(left.map((b) => regclass.get(name(b))));
    const ready = left.findIndex((b) => !edges.some((e) => e.child === regclass.get(name(b)) && waiting.has(e.parent)));
    ordered.push(...left.splice(ready === -1 ? 0 : ready, 1));
  }
  return [...ordered, ...backups.filter((b) => !b.rowsRemoved)];
}

/**
 * Triggers would rewrite what is put back (a hash trigger, an updated_at, an immutability guard):
 * a superuser switches them off for the transaction, an owner disables the table's user triggers.
 */
async function withoutUserTriggers(tx: InTransaction, oid: string, live: string): Promise<() => Promise<void>> {
  const [t] = await tx<{ triggers: boolean; superuser: boolean }[]>`
    select exists (select 1 from pg_trigger where tgrelid = ${oid}::oid and not tgisinternal and tgenabled <> 'D') as triggers,
      (select rolsuper from pg_roles where rolname = current_user) as superuser`;
  if (!t!.triggers) return async () => {};
  if (t!.superuser) {
    await tx`select set_config('session_replication_role', 'replica', true)`;
    return async () => {
      await tx`select set_config('session_replication_role', 'origin', true)`;
    };
  }
  await tx.unsafe(`ALTER TABLE ${live} DISABLE TRIGGER USER`);
  return async () => {
    await tx.unsafe(`ALTER TABLE ${live} ENABLE TRIGGER USER`);
  };
}

/** Rows put back with their ids must not collide with the next generated one. */
async function syncSequences(tx: InTransaction, live: string, columns: string[]): Promise<void> {
  for (const c of new Set(columns)) {
    const [s] = await tx<{ seq: string | null }[]>`select pg_get_serial_sequence(${live}, ${c}) as seq`;
    if (!s?.seq) continue;
    await tx.unsafe(
      `SELECT setval('${s.seq.replace(/'/g, "''")}', greatest((SELECT max(${q(c)}) FROM ${live}), (SELECT last_value FROM ${s.seq}))) WHERE (SELECT max(${q(c)}) FROM ${live}) IS NOT NULL`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Reading and purging, outside a run

const SELECT_RECORD = `
  select id, run_id as "runId", tag, direction, actor, source_schema || '.' || source_table as table, rows_removed as "rowsRemoved",
    to_jsonb(columns) as columns, to_jsonb(key_columns) as "keyColumns", to_jsonb(copied_columns) as "copiedColumns", predicate,
    backup_table as "backupTable", row_count::float8 as rows, bytes::float8 as bytes, checksum, tagged, to_jsonb(classes) as classes, state, reason, created_at as "createdAt",
    expires_at as "expiresAt", restored_at as "restoredAt", restored_run_id as "restoredRunId", restored_rows::float8 as "restoredRows",
    purged_at as "purgedAt"
  from migration_console.backups`;

/** Every backup recorded on the target, newest first (empty when it never had one). */
export async function listBackups(sql: postgres.Sql): Promise<BackupRecord[]> {
  const [exists] = await sql<{ ok: boolean }[]>`select to_regclass('migration_console.backups') is not null as ok`;
  if (!exists!.ok) return [];
  return sql.unsafe<BackupRecord[]>(`${SELECT_RECORD} order by created_at desc, id`);
}

/** The backups recorded on the target at `url` (its own short-lived connection), for pages and the evidence bundle. */
export async function readBackups(url: string): Promise<BackupRecord[]> {
  const sql = connect(url, { application: "migration-console backups", idleTimeoutSeconds: 1 });
  try {
    return await listBackups(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Drops the copies whose retention ran out and records each purge. A backup a rollback is restoring
 * right now is locked by it and skipped until the next round.
 */
export async function purgeExpiredBackups(sql: postgres.Sql, now: Date = new Date()): Promise<BackupRecord[]> {
  const [exists] = await sql<{ ok: boolean }[]>`select to_regclass('migration_console.backups') is not null as ok`;
  if (!exists!.ok) return [];
  return sql.begin(async (tx) => {
    const expired = await tx.unsafe<BackupRecord[]>(`${SELECT_RECORD} where state = 'verified' and expires_at <= $1 order by created_at for update skip locked`, [now]);
    for (const b of expired) {
      await tx.unsafe(`DROP TABLE IF EXISTS ${BACKUP_SCHEMA}.${q(b.backupTable!)}`);
      await tx`update migration_console.backups set state = 'purged', purged_at = clock_timestamp() where id = ${b.id}`;
    }
    return expired.map((b) => ({ ...b, state: "purged" as const, purgedAt: new Date() }));
  });
}

/** purgeExpiredBackups over its own short-lived connection to the target at `url`. */
export async function purgeExpiredBackupsAt(url: string, now: Date = new Date()): Promise<BackupRecord[]> {
  const sql = connect(url, { application: "migration-console backups", idleTimeoutSeconds: 1 });
  try {
    return await purgeExpiredBackups(sql, now);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
