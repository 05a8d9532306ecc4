/**
 * The behavioural isolation probe: one script, run as the application role (never as a superuser or a
 * BYPASSRLS role, which ignore policies) inside a transaction that is always rolled back.
 *
 * In one DO block it: counts what is visible with no clinic context; inserts a probe row into every tenant
 * table for two fresh clinics, B then A, each under its own context (set_clinic_context); then, as clinic
 * A, counts its own and foreign rows, tries to insert a row for clinic B and to move its own rows to clinic
 * B; as a third fresh clinic C, which owns no row, tries to update and delete every row it can reach (any
 * row reached belongs to another clinic); and counts again with an empty context (what a pooled connection
 * has after a previous transaction). Every write attempt runs in its own subtransaction and is undone
 * right after its row count is read, so attempts cannot disturb each other. The results leave the block
 * through a transaction-local setting.
 *
 * The write attempts read no column (UPDATE t SET clinic_id = $c, DELETE FROM t): a statement that reads
 * one is also filtered by the SELECT policies and would hide a broken UPDATE or DELETE policy. With sound
 * policies they touch no row; with a broken one they touch every row of the table until the
 * subtransaction is undone (bounded by the script's statement_timeout).
 *
 * The probe rows are built from the drizzle tables: each NOT NULL column without a database default gets
 * a value of its type, foreign keys point at the same clinic's probe rows, and the few columns whose
 * CHECK constraints a generic value cannot meet are listed in PROBE_VALUES.
 */
import { getTableConfig, PgEnumColumn, type PgColumn, type PgTable } from "drizzle-orm/pg-core";
import { appointments } from "../../db/schema/appointments";
import { clinics } from "../../db/schema/clinics";
import { TARGET_TABLES } from "../../db/schema/expectations";
import { lgpdConsents } from "../../db/schema/lgpd-consents";
import { quoteIdent, quoteLiteral, quoteQualified, type VerifyExpectations } from "./expectations";

/** Values for columns whose CHECK constraints a value of their type alone would fail. */
const PROBE_VALUES = new Map<PgColumn, string>([
  [clinics.cnpj, `lpad((floor(random() * 1e14))::bigint::text, 14, '0')`],
  [appointments.endTime, `now() + interval '30 minutes'`],
  // The consent hash trigger replaces it; without the trigger it must still pass the format check.
  [lgpdConsents.consentHash, `md5(random()::text) || md5(random()::text)`],
]);

export const PROBE_RESULT_SETTING = "verify.isolation_probe";
const UNDO = "VP001";

export type ProbeName =
  | "no_context_visible"
  | "own_visible"
  | "other_visible"
  | "update_other"
  | "delete_other"
  | "insert_other"
  | "move_own"
  | "empty_context_visible";

export interface ProbeEntry {
  table: string;
  probe: ProbeName;
  /** Rows counted or affected; absent when the statement failed. */
  rows?: number;
  sqlstate?: string;
  message?: string;
}

export interface ProbeOutput {
  role: string;
  roleBypassesRls: boolean;
  entries: ProbeEntry[];
}

interface ProbeTable {
  /** Position in TARGET_TABLES: names the plpgsql variables of its probe rows. */
  index: number;
  name: string;
  quoted: string;
  key: string;
  /** The tenant table itself: its key is its primary key. */
  root: boolean;
  pk: string;
  /** Column → SQL expression, per clinic variable; the primary key as given. */
  values(clinic: "a" | "b", pk: string): [string, string][];
}

function valueOfType(column: PgColumn): string {
  if (column instanceof PgEnumColumn) return quoteLiteral(column.enum.enumValues[0]!);
  const type = column.getSQLType();
  if (type.endsWith("[]")) return `'{}'`;
  switch (type) {
    case "uuid":
      return "gen_random_uuid()";
    case "text":
      return column.isUnique ? `'verification probe ' || gen_random_uuid()` : `'verification probe'`;
    case "timestamp with time zone":
    case "timestamp":
      return "now()";
    case "date":
      return "current_date";
    case "boolean":
      return "false";
    case "integer":
    case "smallint":
    case "bigint":
      return "0";
    case "jsonb":
    case "json":
      return `'{}'`;
    case "inet":
      return `'127.0.0.1'`;
    default:
      throw new Error(`the isolation probe has no value for ${column.name} (${type}): add it to PROBE_VALUES`);
  }
}

function qualifiedName(table: PgTable): string {
  const config = getTableConfig(table);
  return `${config.schema ?? "public"}.${config.name}`;
}

const pkVar = (index: number, clinic: "a" | "b") => `v_${index}_${clinic}`;

function probeTables(expect: VerifyExpectations): ProbeTable[] {
  const order = TARGET_TABLES.map(qualifiedName);
  const tables: ProbeTable[] = [];
  expect.tables.forEach((t, index) => {
    if (!t.tenantKey) return;
    const config = getTableConfig(TARGET_TABLES[index]!);
    if (t.primaryKey.length !== 1) throw new Error(`the isolation probe needs a single-column primary key on ${t.qualifiedName}`);
    const pk = t.primaryKey[0]!;
    const root = t.tenantKey === pk;
    // Foreign keys point at the same clinic's probe row of the referenced table (the clinic itself for the root).
    const foreign = new Map<string, (clinic: "a" | "b") => string>();
    for (const fk of t.foreignKeyDetails) {
      if (fk.columns.length !== 1) continue;
      const target = order.indexOf(fk.foreignTable);
      const referenced = expect.tables[target];
      if (!referenced || target >= index) {
        throw new Error(`the isolation probe inserts tables in db/schema order; ${t.qualifiedName} references ${fk.foreignTable}`);
      }
      const toRoot = referenced.tenantKey !== null && referenced.tenantKey === referenced.primaryKey[0];
      foreign.set(fk.columns[0]!, (clinic) => (toRoot ? `v_${clinic}` : pkVar(target, clinic)));
    }
    tables.push({
      index,
      name: t.qualifiedName,
      quoted: quoteQualified(t.qualifiedName),
      key: t.tenantKey,
      root,
      pk,
      values(clinic, pkValue) {
        const out: [string, string][] = [[pk, pkValue]];
        if (!root) out.push([t.tenantKey!, `v_${clinic}`]);
        for (const column of config.columns) {
          if (column.name === pk || column.name === t.tenantKey) continue;
          if (!column.notNull || column.default !== undefined || column.generated) continue;
          const ref = foreign.get(column.name);
          out.push([column.name, ref ? ref(clinic) : (PROBE_VALUES.get(column) ?? valueOfType(column))]);
        }
        return out;
      },
    });
  });
  return tables;
}

function insertSql(table: ProbeTable, values: [string, string][]): string {
  return `INSERT INTO ${table.quoted} (${values.map(([c]) => quoteIdent(c)).join(", ")}) VALUES (${values.map(([, v]) => v).join(", ")})`;
}

function entry(table: string, probe: ProbeName, fields: string): string {
  return `v_out := v_out || jsonb_build_object('table', ${quoteLiteral(table)}, 'probe', '${probe}', ${fields});`;
}

/** A statement whose row count is recorded, then undone; a failure records its SQLSTATE and message. */
function attempt(table: string, probe: ProbeName, statement: string): string[] {
  return [
    `  BEGIN`,
    `    ${statement};`,
    `    GET DIAGNOSTICS v_n = ROW_COUNT;`,
    `    RAISE SQLSTATE '${UNDO}';`,
    `  EXCEPTION`,
    `    WHEN SQLSTATE '${UNDO}' THEN ${entry(table, probe, "'rows', v_n")}`,
    `    WHEN OTHERS THEN ${entry(table, probe, "'sqlstate', SQLSTATE, 'message', SQLERRM")}`,
    `  END;`,
  ];
}

interface Count {
  table: ProbeTable;
  probe: ProbeName;
  where: string;
  limit: number;
}

/** Row counts (capped: a leak only needs to be seen) of several tables, recorded in one statement. */
function counts(items: Count[]): string {
  const objects = items.map(
    ({ table, probe, where, limit }) =>
      `    jsonb_build_object('table', ${quoteLiteral(table.name)}, 'probe', '${probe}', 'rows', ` +
      `(SELECT count(*) FROM (SELECT 1 FROM ${table.quoted}${where ? ` WHERE ${where}` : ""} LIMIT ${limit}) s))`,
  );
  return `  v_out := v_out || jsonb_build_array(\n${objects.join(",\n")});`;
}

/** The whole probe as a script a person can paste into psql (it ends with ROLLBACK). */
export function isolationProbeScript(expect: VerifyExpectations): { body: string; script: string } {
  const tables = probeTables(expect);
  const fn = `${quoteIdent(expect.contextFunction.schema)}.${quoteIdent(expect.contextFunction.name)}`;
  const setting = quoteLiteral(expect.contextSettings.clinicId);
  const lines: string[] = [];
  lines.push(`DO $verify$`, `DECLARE`, `  v_a uuid := gen_random_uuid();`, `  v_b uuid := gen_random_uuid();`, `  v_c uuid := gen_random_uuid();`);
  lines.push(`  v_n bigint;`, `  v_out jsonb := '[]';`);
  for (const t of tables) {
    if (!t.root) lines.push(`  ${pkVar(t.index, "a")} uuid := gen_random_uuid();`, `  ${pkVar(t.index, "b")} uuid := gen_random_uuid();`);
  }
  lines.push(`BEGIN`);
  lines.push(`  -- Without a clinic context nothing is visible.`);
  lines.push(counts(tables.map((table) => ({ table, probe: "no_context_visible", where: "", limit: 1000 }))));

  for (const clinic of ["b", "a"] as const) {
    lines.push(`  -- Probe rows for clinic ${clinic.toUpperCase()}, under its own context.`);
    lines.push(`  PERFORM ${fn}(v_${clinic}, NULL, 'verification');`);
    for (const t of tables) lines.push(`  ${insertSql(t, t.values(clinic, t.root ? `v_${clinic}` : pkVar(t.index, clinic)))};`);
  }

  // A WHERE or SET that reads a column also subjects UPDATE and DELETE to the SELECT policies, which would
  // hide a broken UPDATE or DELETE policy: the write attempts below read no column.
  lines.push(`  -- As clinic A: its own rows only; no row for clinic B; its own rows cannot move to clinic B.`);
  lines.push(
    counts(
      tables.flatMap((table) => [
        { table, probe: "own_visible" as const, where: `${quoteIdent(table.key)} = v_a`, limit: 10 },
        { table, probe: "other_visible" as const, where: `${quoteIdent(table.key)} IS DISTINCT FROM v_a`, limit: 1000 },
      ]),
    ),
  );
  for (const t of tables) {
    const key = quoteIdent(t.key);
    lines.push(...attempt(t.name, "insert_other", insertSql(t, t.values("b", "gen_random_uuid()"))));
    if (!t.root) lines.push(...attempt(t.name, "move_own", `UPDATE ${t.quoted} SET ${key} = v_b`));
  }
  lines.push(`  -- As clinic C, which has no rows: no row of any other clinic (B's probe rows included) can be updated or deleted.`);
  lines.push(`  PERFORM ${fn}(v_c, NULL, 'verification');`);
  for (const t of tables) {
    const key = quoteIdent(t.key);
    lines.push(...attempt(t.name, "update_other", `UPDATE ${t.quoted} SET ${key} = v_c`));
    lines.push(...attempt(t.name, "delete_other", `DELETE FROM ${t.quoted}`));
  }

  lines.push(`  -- An empty context, as a pooled connection has after an earlier transaction: nothing is visible.`);
  lines.push(`  PERFORM set_config(${setting}, '', true);`);
  lines.push(counts(tables.map((table) => ({ table, probe: "empty_context_visible", where: "", limit: 1000 }))));
  lines.push(
    `  PERFORM set_config('${PROBE_RESULT_SETTING}', jsonb_build_object('role', current_user, 'bypass',`,
    `    (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), 'entries', v_out)::text, true);`,
  );
  lines.push(`END`, `$verify$`);
  const doBlock = lines.join("\n");
  const body = [
    `SET LOCAL ROLE ${quoteIdent(expect.appRole)}`,
    `SET LOCAL lock_timeout = '2s'`,
    `SET LOCAL statement_timeout = '60s'`,
    doBlock,
    `SELECT current_setting('${PROBE_RESULT_SETTING}') AS result`,
  ].join(";\n");
  return { body, script: `BEGIN;\n${body};\nROLLBACK;\n` };
}
