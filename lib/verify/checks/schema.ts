/** Groups 1 and 2: server version, schemas, extensions; tables, columns and their declared constraints. */
import { defineCheck, fail, listSome, pass, plural, section, sqlArray, sqlList } from "./util";

export const serverVersion = defineCheck({
  id: "server.version",
  group: "schemas-extensions-version",
  title: "PostgreSQL is version 15 or newer",
  severity: "high",
  fix: "Upgrade the server to a supported PostgreSQL release (15 or newer) before deploying to it.",
  reads: ["server"],
  run({ catalog, expectations }) {
    const { versionNum, version } = catalog.server;
    const sql = `SELECT current_setting('server_version_num')::int AS version_num, current_setting('server_version') AS version;`;
    return versionNum >= expectations.minServerVersionNum
      ? pass(`PostgreSQL ${version} (server_version_num ${versionNum} ≥ ${expectations.minServerVersionNum}).`, sql)
      : fail(`PostgreSQL ${version} is older than the oldest supported release (server_version_num ${versionNum} < ${expectations.minServerVersionNum}).`, [`server ${version}`], sql);
  },
});

export const schemasPresent = defineCheck({
  id: "schemas.present",
  group: "schemas-extensions-version",
  title: "Schemas public, lgpd and audit exist",
  severity: "high",
  fix: "Apply the migrations (0000 creates the lgpd and audit schemas); never drop a schema that holds target tables.",
  reads: ["server"],
  run({ catalog, expectations }) {
    const missing = expectations.schemas.filter((s) => !catalog.server.schemas.includes(s));
    const sql = `SELECT s AS missing_schema FROM unnest(${sqlArray(expectations.schemas)}) s\nWHERE NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = s);`;
    return missing.length === 0
      ? pass(`All ${expectations.schemas.length} schemas exist: ${expectations.schemas.join(", ")}.`, sql)
      : fail(`Missing ${plural(missing.length, "schema")}: ${missing.join(", ")}.`, missing.map((s) => `schema ${s}`), sql);
  },
});

export const extensionsInstalled = defineCheck({
  id: "extensions.installed",
  group: "schemas-extensions-version",
  title: "Required extensions are installed (pgcrypto, uuid-ossp, pg_stat_statements, btree_gist)",
  severity: "high",
  fix: "Apply migration 0000 (CREATE EXTENSION IF NOT EXISTS ...) as a role allowed to create extensions.",
  reads: ["server"],
  run({ catalog, expectations }) {
    const installed = new Set(catalog.server.extensions.map((e) => e.name));
    const missing = expectations.extensions.filter((e) => !installed.has(e));
    const sql = `SELECT e AS missing_extension FROM unnest(${sqlArray(expectations.extensions)}) e\nWHERE NOT EXISTS (SELECT 1 FROM pg_extension x WHERE x.extname = e);`;
    const rows = catalog.server.extensions.filter((e) => (expectations.extensions as readonly string[]).includes(e.name));
    return missing.length === 0
      ? pass(`Installed: ${rows.map((e) => `${e.name} ${e.version}`).join(", ")}.`, sql, rows)
      : fail(`Missing ${plural(missing.length, "extension")}: ${missing.join(", ")}.`, missing.map((e) => `extension ${e}`), sql);
  },
});

export const tablesPresent = defineCheck({
  id: "tables.present",
  group: "tables-columns",
  title: "Every table of db/schema exists",
  severity: "critical",
  fix: "Apply the pending migrations; if a table was dropped or renamed by hand, restore it from the migrations.",
  reads: ["tables"],
  run({ catalog, expectations }) {
    const present = new Set(section(catalog, "tables").map((t) => t.name));
    const missing = expectations.tables.filter((t) => !present.has(t.qualifiedName)).map((t) => t.qualifiedName);
    const sql = `SELECT t AS missing_table FROM unnest(${sqlArray(expectations.tables.map((t) => t.qualifiedName))}) t\nWHERE to_regclass(t) IS NULL;`;
    return missing.length === 0
      ? pass(`All ${expectations.tables.length} tables of db/schema exist.`, sql)
      : fail(`Missing ${plural(missing.length, "table")}: ${missing.join(", ")}.`, missing, sql);
  },
});

export const columnsTypes = defineCheck({
  id: "columns.types",
  group: "tables-columns",
  title: "Every column of db/schema exists with its type, NOT NULL and default",
  severity: "high",
  fix: "Apply the pending migrations; a column altered by hand must be brought back to its db/schema definition by a migration.",
  reads: ["columns"],
  run({ catalog, expectations }) {
    const actual = new Map(section(catalog, "columns").map((c) => [`${c.table}.${c.name}`, c]));
    const rows: Record<string, unknown>[] = [];
    for (const t of expectations.tables) {
      for (const c of t.columns) {
        const found = actual.get(`${t.qualifiedName}.${c.name}`);
        const problems: string[] = [];
        if (!found) problems.push("missing");
        else {
          if (found.type !== c.type) problems.push(`type ${found.type}, expected ${c.type}`);
          if (c.notNull && !found.notNull) problems.push("nullable, expected NOT NULL");
          if (c.hasDefault && !found.hasDefault) problems.push("no default, expected one");
        }
        if (problems.length) rows.push({ column: `${t.qualifiedName}.${c.name}`, problems });
      }
    }
    const count = expectations.tables.reduce((n, t) => n + t.columns.length, 0);
    const sql = `SELECT n.nspname || '.' || c.relname AS table, a.attname AS column,
  format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, a.atthasdef AS has_default
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ${sqlList(expectations.schemas)} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, a.attnum;  -- run with SET search_path = pg_catalog to see enum types schema-qualified`;
    return rows.length === 0
      ? pass(`All ${count} columns of ${expectations.tables.length} tables match db/schema.`, sql)
      : fail(
          `${plural(rows.length, "column")} differ from db/schema: ${listSome(rows.map((r) => `${r.column} (${(r.problems as string[]).join("; ")})`))}.`,
          rows.map((r) => r.column as string),
          sql,
          rows,
        );
  },
});

export const constraintsDeclared = defineCheck({
  id: "constraints.declared",
  group: "tables-columns",
  title: "Declared primary keys, foreign keys, checks and the appointment overlap exclusion exist and are validated",
  severity: "high",
  fix: "Re-create the missing constraint with a migration (ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT to avoid a long lock).",
  reads: ["constraints"],
  run({ catalog, expectations }) {
    const facts = section(catalog, "constraints");
    const byName = new Map(facts.map((c) => [`${c.table}/${c.name}`, c]));
    const rows: Record<string, unknown>[] = [];
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const problem = (table: string, name: string, what: string) => rows.push({ constraint: `${name} on ${table}`, problem: what });
    let expected = 0;
    for (const t of expectations.tables) {
      expected++;
      const pk = facts.find((c) => c.table === t.qualifiedName && c.type === "primary_key");
      if (!pk) problem(t.qualifiedName, "primary key", "missing");
      else if (!same(pk.columns, t.primaryKey)) problem(t.qualifiedName, pk.name, `on (${pk.columns.join(", ")}), expected (${t.primaryKey.join(", ")})`);
      for (const name of t.checks) {
        expected++;
        const c = byName.get(`${t.qualifiedName}/${name}`);
        if (!c || c.type !== "check") problem(t.qualifiedName, name, "missing");
        else if (!c.validated) problem(t.qualifiedName, name, "NOT VALID: existing rows were never checked");
      }
      for (const fk of t.foreignKeyDetails) {
        expected++;
        const c = byName.get(`${t.qualifiedName}/${fk.name}`);
        if (!c || c.type !== "foreign_key") problem(t.qualifiedName, fk.name, "missing");
        else if (c.foreignTable !== fk.foreignTable || !same(c.columns, fk.columns) || !same(c.foreignColumns, fk.foreignColumns)) {
          problem(t.qualifiedName, fk.name, `(${c.columns.join(", ")}) → ${c.foreignTable}(${c.foreignColumns.join(", ")}), expected (${fk.columns.join(", ")}) → ${fk.foreignTable}(${fk.foreignColumns.join(", ")})`);
        } else if (!c.validated) problem(t.qualifiedName, fk.name, "NOT VALID: existing rows were never checked");
      }
    }
    for (const hw of expectations.handWritten.constraints) {
      expected++;
      const c = byName.get(`${hw.table}/${hw.name}`);
      if (!c || c.type !== hw.type) problem(hw.table, hw.name, `missing (expected an ${hw.type} constraint)`);
      else if (c.indexUsable === false) problem(hw.table, hw.name, "its index is invalid");
    }
    const sql = `SELECT conrelid::regclass AS table, conname, contype, convalidated, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE connamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ${sqlList(expectations.schemas)}) AND contype IN ('p', 'f', 'c', 'x')
ORDER BY 1, 2;`;
    return rows.length === 0
      ? pass(`All ${expected} declared primary keys, foreign keys, checks and exclusion constraints exist and are validated.`, sql)
      : fail(
          `${plural(rows.length, "constraint")} missing or wrong: ${listSome(rows.map((r) => `${r.constraint} (${r.problem})`))}.`,
          rows.map((r) => `constraint ${r.constraint}`),
          sql,
          rows,
        );
  },
});
