/**
 * What the runner and the planner must know about the target before touching a row: that the
 * table, its key and the columns exist, that the key is the primary key, and that the connection sees
 * every clinic's rows (row level security would otherwise hide rows and the backfill would report
 * success over part of the table). See docs/backfills.md.
 */
import type postgres from "postgres";
import { AppError } from "../errors";
import { connect } from "../connection/connect";
import type { BackfillDefinition } from "./definition";

/** application_name of every connection a backfill opens, so pressure checks can skip its own. */
export const BACKFILL_APPLICATION = "migration-console backfill";

export function connectTarget(url: string, name: string): postgres.Sql {
  return connect(url, { max: 1, connectTimeoutMs: 10_000, idleTimeoutSeconds: 0, application: `${BACKFILL_APPLICATION} ${name}` });
}

export interface TargetFacts {
  keyType: string;
  /** From the planner's statistics (reltuples); null when the table was never analysed. */
  estimatedTableRows: number | null;
  connectedAs: string;
}

export async function inspectTarget(sql: postgres.Sql, def: BackfillDefinition): Promise<TargetFacts> {
  const [table] = await sql<{ oid: number; reltuples: number; rls: boolean; forced: boolean; owner: boolean; sees_all: boolean; user: string }[]>`
    select c.oid::int as oid, c.reltuples::float8 as reltuples, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
      pg_get_userbyid(c.relowner) = current_user as owner,
      (select rolsuper or rolbypassrls from pg_roles where rolname = current_user) as sees_all, current_user as user
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${def.schema} and c.relname = ${def.tableName} and c.relkind in ('r', 'p')`;
  if (!table) throw new AppError("conflict", `${def.file}: the target has no table ${def.table}.`);
  if (table.rls && !table.sees_all && (table.forced || !table.owner)) {
    throw new AppError(
      "conflict",
      `${def.table} has row level security${table.forced ? " (FORCEd)" : ""} and the target connection's role ${table.user} neither is a superuser nor has BYPASSRLS${table.forced ? "" : " nor owns the table"}: the backfill would see only some clinics' rows. Connect the environment as the table owner with BYPASSRLS or as a superuser (docs/backfills.md).`,
    );
  }
  const columns = await sql<{ name: string; type: string; pk: boolean }[]>`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
      exists (select 1 from pg_index i where i.indrelid = a.attrelid and i.indisprimary and i.indnkeyatts = 1 and i.indkey[0] = a.attnum) as pk
    from pg_attribute a where a.attrelid = ${table.oid} and a.attnum > 0 and not a.attisdropped`;
  const byName = new Map(columns.map((c) => [c.name, c]));
  const key = byName.get(def.key);
  if (!key) throw new AppError("conflict", `${def.file}: ${def.table} has no column ${def.key}.`);
  if (!key.pk) {
    const [pk] = await sql<{ columns: string[] }[]>`
      select array_agg(a.attname order by k.n) as columns from pg_index i cross join unnest(i.indkey[0:i.indnkeyatts - 1]) with ordinality k(attnum, n)
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum where i.indrelid = ${table.oid} and i.indisprimary`;
    const has = pk?.columns?.length ? `the primary key of ${def.table} is (${pk.columns.join(", ")})` : `${def.table} has no primary key`;
    throw new AppError("conflict", `${def.file}: ${def.key} is not the primary key: ${has}; a backfill walks a single-column primary key.`);
  }
  const missing = Object.keys(def.set).filter((c) => !byName.has(c));
  if (missing.length) throw new AppError("conflict", `${def.file}: ${def.table} has no column ${missing.join(", ")}.`);
  return { keyType: key.type, estimatedTableRows: table.reltuples >= 0 ? Math.round(table.reltuples) : null, connectedAs: table.user };
}
