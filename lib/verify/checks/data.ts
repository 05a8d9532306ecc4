/**
 * Groups 7 to 9: the consent proof, retention and telemedicine. Each data check is one set-based query
 * returning one row (the query shown as evidence is the one that ran), with at most EVIDENCE_ROWS
 * offending rows and their exact count. They need no catalog section, so they run while the catalog is
 * read. They need a connection that sees every row (superuser or BYPASSRLS): under FORCE ROW LEVEL
 * SECURITY any other role sees nothing and would pass by accident, so each query also reports whether
 * the connecting role sees every row, and the check reports an error when it does not.
 */
import type postgres from "postgres";
import { isSecretColumn } from "../../../db/schema/classification";
import { quoteIdent, quoteLiteral, quoteQualified, type VerifyExpectations } from "../expectations";
import type { CheckOutcome } from "../types";
import { defineCheck, passOver, error, EVIDENCE_ROWS, fail, listSome, pass, plural, section, sqlArray, warn } from "./util";

/** Selected by every data query: whether the connecting role sees every row despite FORCE ROW LEVEL SECURITY. */
const SEES_EVERY_ROW = `(SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) AS sees_every_row,
  current_user AS connected_as`;

interface DataRow {
  sees_every_row: boolean;
  connected_as: string;
}

/** Under FORCE ROW LEVEL SECURITY any other role sees some rows or none: its result would pass by accident. */
function refusedUnlessEveryRow(row: DataRow, sql: string): CheckOutcome | null {
  if (row.sees_every_row) return null;
  return error(
    `Not run: the verification connects as ${row.connected_as}, which is subject to row level security and would only see some rows (none, under FORCE). Verify with a superuser or BYPASSRLS connection.`,
    sql,
  );
}

/** Evidence rows never carry a column classification.ts marks secret. */
function selectable(table: string, columns: string[]): string[] {
  const dot = table.indexOf(".");
  for (const c of columns) {
    if (isSecretColumn(table.slice(0, dot), table.slice(dot + 1), c)) throw new Error(`${table}.${c} is secret: it must not appear in evidence`);
  }
  return columns.map(quoteIdent);
}

/** Runs the evidence query (one row); a failure carries the query, so the error result can show it. */
async function queryRow<T>(sql: postgres.Sql, text: string): Promise<T & DataRow> {
  try {
    const rows = (await sql.unsafe(text)) as unknown as (T & DataRow)[];
    return rows[0]!;
  } catch (e) {
    throw Object.assign(e as object, { evidenceSql: text });
  }
}

export const consentTrigger = defineCheck({
  id: "consent.trigger",
  group: "consent-proof",
  title: "The consent hash is computed by the database: its functions and enabled triggers are in place",
  severity: "critical",
  fix: "Re-apply migration 0004; if a trigger was disabled (ALTER TABLE ... DISABLE TRIGGER), enable it and re-verify the stored hashes.",
  reads: ["routines"],
  run({ catalog, expectations }) {
    const { functions, triggers } = section(catalog, "routines");
    const consentSchema = expectations.consent.table.slice(0, expectations.consent.table.indexOf("."));
    const rows: Record<string, unknown>[] = [];
    const wantedFunctions = expectations.handWritten.functions.filter((f) => f.schema === consentSchema);
    for (const f of wantedFunctions) {
      const found = functions.some((x) => x.schema === f.schema && x.name === f.name && x.identityArguments === f.identityArguments);
      if (!found) rows.push({ object: `function ${f.schema}.${f.name}(${f.identityArguments})`, problem: "missing" });
    }
    for (const t of expectations.consent.triggers) {
      const object = `trigger ${t.name} on ${t.table}`;
      const found = triggers.find((x) => x.table === t.table && x.name === t.name);
      const fn = expectations.handWritten.functions.find((f) => f.name === t.name);
      if (!found) rows.push({ object, problem: "missing" });
      else if (found.enabled === "disabled" || found.enabled === "replica") rows.push({ object, problem: `${found.enabled}`, definition: found.definition });
      else if (fn && found.function !== `${fn.schema}.${fn.name}`) {
        rows.push({ object, problem: `calls ${found.function}, expected ${fn.schema}.${fn.name}`, definition: found.definition });
      }
    }
    const sql = `SELECT tgname, tgenabled, pg_get_triggerdef(oid) AS definition FROM pg_trigger
WHERE tgrelid = ${quoteLiteral(expectations.consent.table)}::regclass AND NOT tgisinternal;
SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ${quoteLiteral(consentSchema)};`;
    return rows.length === 0
      ? pass(
          `${plural(wantedFunctions.length, "function")} and ${plural(expectations.consent.triggers.length, "enabled trigger")} compute and freeze consent_hash on ${expectations.consent.table}.`,
          sql,
        )
      : fail(
          `The consent proof is not enforced: ${listSome(rows.map((r) => `${r.object} (${r.problem})`))}.`,
          rows.map((r) => `${r.object} (${r.problem})`),
          sql,
          rows,
        );
  },
});

function consentHashesSql(expect: VerifyExpectations): string {
  const c = expect.consent;
  const table = quoteQualified(c.table);
  const fn = `${quoteIdent(c.hashFunction.schema)}.${quoteIdent(c.hashFunction.name)}`;
  const [id, hash, text] = selectable(c.table, [c.idColumn, c.hashColumn, c.hashedTextColumn]);
  return `SELECT ${SEES_EVERY_ROW},
  (SELECT count(*)::int FROM ${table}) AS total,
  (SELECT coalesce(json_agg(m), '[]') FROM (
    SELECT c.${id} AS id, c.${hash} AS stored, ${fn}(c) AS recomputed, count(*) OVER ()::int AS mismatches
    FROM ${table} c
    WHERE c.${hash} IS DISTINCT FROM ${fn}(c)
    ORDER BY c.${id} LIMIT ${EVIDENCE_ROWS}) m) AS mismatched,
  -- The function must depend on the row: a changed consent text must change the hash.
  (SELECT ${fn}(c) IS DISTINCT FROM ${fn}(jsonb_populate_record(c, jsonb_build_object(${quoteLiteral(c.hashedTextColumn)}, c.${text} || ' (altered)')))
    FROM ${table} c LIMIT 1) AS sensitive;`;
}

export const consentHashes = defineCheck({
  id: "consent.hashes",
  group: "consent-proof",
  title: "Every stored consent_hash recomputes with the database's own lgpd.consent_hash",
  severity: "critical",
  fix: "Find how the listed consents were changed (the guard trigger refuses it: look for a disabled trigger or a superuser session in the audit log); restore them from backup or withdraw them and record new consents.",
  reads: [],
  async run({ sql, expectations }) {
    const text = consentHashesSql(expectations);
    const f = expectations.consent.hashFunction;
    let row;
    try {
      row = await queryRow<{ total: number; mismatched: { id: string; stored: string; recomputed: string; mismatches: number }[]; sensitive: boolean | null }>(sql, text);
    } catch (e) {
      if ((e as { code?: string }).code === "42883") {
        return error(`Cannot recompute: ${f.schema}.${f.name}(${f.identityArguments}) does not exist (see consent.trigger).`, text);
      }
      throw e;
    }
    const refused = refusedUnlessEveryRow(row, text);
    if (refused) return refused;
    const { total, mismatched, sensitive } = row;
    if (sensitive === false) {
      return fail(
        `${f.schema}.${f.name} returns the same hash for a different consent text: it proves nothing, and every stored hash "recomputes".`,
        [`function ${f.schema}.${f.name}(${f.identityArguments})`],
        text,
      );
    }
    if (mismatched.length === 0) return passOver(total, `All ${plural(total, "stored consent hash", "stored consent hashes")} recompute.`, "no consent is stored yet.", text);
    const count = mismatched[0]!.mismatches;
    return fail(
      `${plural(count, "consent")} of ${total} no longer match their hash (changed after signing): ${listSome(mismatched.map((m) => m.id))}.`,
      mismatched.map((m) => `${expectations.consent.table} ${m.id}`),
      text,
      mismatched.map(({ id, stored, recomputed }) => ({ id, stored, recomputed })),
    );
  },
});

function auditRetentionSql(expect: VerifyExpectations): string {
  const r = expect.retention;
  const [id, created, until] = selectable(r.auditTable, [r.auditIdColumn, r.createdAtColumn, r.retentionUntilColumn]);
  return `SELECT ${SEES_EVERY_ROW},
  (SELECT coalesce(json_agg(x), '[]') FROM (
    SELECT a.${id} AS id, a.${created} AS created_at, a.${until} AS retention_until, count(*) OVER ()::int AS short
    FROM ${quoteQualified(r.auditTable)} a
    WHERE a.${until} IS NULL OR a.${until} < a.${created} + interval '${r.auditYears} years'
    ORDER BY a.${created}, a.${id} LIMIT ${EVIDENCE_ROWS}) x) AS rows;`;
}

export const auditRetention = defineCheck({
  id: "retention.audit-7-years",
  group: "retention",
  title: "Every audit row is kept at least 7 years after it was written",
  severity: "high",
  fix: "Set retention_until to at least created_at + 7 years on the listed rows and make sure the audit_logs_retention_7_years check constraint exists and is validated.",
  reads: [],
  async run({ sql, expectations }) {
    const text = auditRetentionSql(expectations);
    const row = await queryRow<{ rows: { id: string; created_at: string; retention_until: string | null; short: number }[] }>(sql, text);
    const refused = refusedUnlessEveryRow(row, text);
    if (refused) return refused;
    const rows = row.rows;
    const years = expectations.retention.auditYears;
    if (rows.length === 0) return pass(`No audit row is kept less than ${years} years after it was written.`, text);
    return fail(
      `${plural(rows[0]!.short, "audit row")} would be discarded before ${years} years: ${listSome(rows.map((r) => r.id))}.`,
      rows.map((r) => `${expectations.retention.auditTable} ${r.id}`),
      text,
      rows.map(({ id, created_at, retention_until }) => ({ id, created_at, retention_until })),
    );
  },
});

function overdueSql(expect: VerifyExpectations): string {
  const r = expect.retention;
  const [id, scheduled, done] = selectable(r.patientsTable, [r.patientIdColumn, r.anonymizationScheduledColumn, r.anonymizedAtColumn]);
  return `SELECT ${SEES_EVERY_ROW},
  (SELECT coalesce(json_agg(x), '[]') FROM (
    SELECT p.${id} AS id, p.${scheduled} AS scheduled_for,
      floor(extract(epoch FROM now() - p.${scheduled}) / 86400)::int AS days_overdue, count(*) OVER ()::int AS overdue
    FROM ${quoteQualified(r.patientsTable)} p
    WHERE p.${scheduled} < now() AND p.${done} IS NULL
    ORDER BY p.${scheduled}, p.${id} LIMIT ${EVIDENCE_ROWS}) x) AS rows;`;
}

export const anonymisationOverdue = defineCheck({
  id: "retention.anonymisation-overdue",
  group: "retention",
  title: "Scheduled anonymisations are carried out (patients past data_anonymization_scheduled without data_anonymized_at are reported)",
  severity: "medium",
  fix: "Run the anonymisation job for the listed patients (and record data_anonymized_at); if a request was put on hold for a legal reason, reschedule it.",
  reads: [],
  async run({ sql, expectations }) {
    const text = overdueSql(expectations);
    const row = await queryRow<{ rows: { id: string; scheduled_for: string; days_overdue: number; overdue: number }[] }>(sql, text);
    const refused = refusedUnlessEveryRow(row, text);
    if (refused) return refused;
    const rows = row.rows;
    if (rows.length === 0) return pass("No anonymisation is overdue.", text);
    // Overdue work to act on, not a broken invariant: the data is still protected by everything above.
    return warn(
      `${plural(rows[0]!.overdue, "patient")} overdue for anonymisation, the oldest by ${plural(rows[0]!.days_overdue, "day")}: ${listSome(rows.map((r) => r.id))}.`,
      rows.map((r) => `${expectations.retention.patientsTable} ${r.id}`),
      text,
      rows.map(({ id, scheduled_for, days_overdue }) => ({ id, scheduled_for, days_overdue })),
    );
  },
});

function telemedicineSql(expect: VerifyExpectations): string {
  const t = expect.telemedicine;
  const [id, status, crm, uf, serial, fingerprint, validTo, startedAt] = selectable(t.table, [
    t.idColumn,
    t.statusColumn,
    t.crmColumn,
    t.ufColumn,
    t.certSerialColumn,
    t.certFingerprintColumn,
    t.certValidToColumn,
    t.startedAtColumn,
  ]);
  return `WITH active AS (
  SELECT s.${id} AS id, array_remove(ARRAY[
    CASE WHEN s.${crm} IS NULL THEN 'no CRM' WHEN s.${crm} !~ '^[0-9]{4,6}$' THEN 'CRM is not 4 to 6 digits' END,
    CASE WHEN s.${uf} IS NULL THEN 'no UF' WHEN NOT (s.${uf}::text = ANY (${sqlArray(t.ufs)})) THEN 'not a UF' END,
    CASE WHEN s.${serial} IS NULL OR s.${fingerprint} IS NULL THEN 'no ICP-Brasil certificate' END,
    CASE WHEN s.${validTo} IS NULL THEN 'certificate validity unknown'
      WHEN s.${validTo} < coalesce(s.${startedAt}, now()) THEN 'certificate expired before the session'
      WHEN s.${validTo} < now() THEN 'certificate expired during the session' END
  ], NULL) AS problems
  FROM ${quoteQualified(t.table)} s
  WHERE s.${status} = ${quoteLiteral(t.activeStatus)}
)
SELECT ${SEES_EVERY_ROW},
  (SELECT count(*)::int FROM active) AS active,
  (SELECT count(*)::int FROM active WHERE cardinality(problems) > 0) AS failing,
  (SELECT coalesce(json_agg(x), '[]') FROM (
    SELECT id, problems FROM active WHERE cardinality(problems) > 0 ORDER BY id LIMIT ${EVIDENCE_ROWS}) x) AS sessions;`;
}

export const telemedicineSessions = defineCheck({
  id: "telemedicine.active-sessions",
  group: "telemedicine",
  title: "Active telemedicine sessions have the professional's CRM and UF and an ICP-Brasil certificate valid at session time",
  severity: "high",
  fix: "End the listed sessions, then record the professional's CRM/UF and a valid ICP-Brasil certificate before they can start again (CFM 2314/2022).",
  reads: [],
  async run({ sql, expectations }) {
    const text = telemedicineSql(expectations);
    const row = await queryRow<{ active: number; failing: number; sessions: { id: string; problems: string[] }[] }>(sql, text);
    const refused = refusedUnlessEveryRow(row, text);
    if (refused) return refused;
    const { active, failing, sessions } = row;
    if (failing === 0) return passOver(active, `All ${plural(active, "active session")} identify the professional (CRM, UF) with a valid ICP-Brasil certificate.`, "there is no active telemedicine session.", text);
    return fail(
      `${plural(failing, "active session")} of ${active} do not meet CFM 2314/2022: ${listSome(sessions.map((s) => `${s.id} (${s.problems.join(", ")})`))}.`,
      sessions.map((s) => `${expectations.telemedicine.table} ${s.id}`),
      text,
      sessions,
    );
  },
});
