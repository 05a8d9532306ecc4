import { analyzeSql, drizzleChecksum, type Migration } from "@/lib/migrations";
import { lintMigrations, lintSql, type Finding } from "@/lib/lint";

/** Every table of the declared target schema, as a target at the latest migration has them. */
export const TARGET_TABLES = new Set([
  "public.clinics",
  "public.professionals",
  "public.patients",
  "public.appointments",
  "lgpd.lgpd_consents",
  "public.consent_records",
  "public.telemedicine_sessions",
  "audit.audit_logs",
]);

/** The tenant predicate exactly as db/schema/rls.ts writes it. */
export const TENANT = (key = "clinic_id") => `"${key}" = NULLIF(current_setting('app.current_clinic_id', true), '')::uuid`;

/** Lints SQL against a target that has every declared table. */
export function lint(sql: string, existingTables: ReadonlySet<string> = TARGET_TABLES): Promise<Finding[]> {
  return lintSql(sql, { existingTables });
}

export function byRule(findings: Finding[], rule: string): Finding[] {
  return findings.filter((f) => f.rule === rule);
}

/** A pending migration built from SQL, as the catalog would load it. */
export async function migration(idx: number, tag: string, sql: string): Promise<Migration> {
  const file = `/fixtures/${tag}.sql`;
  return {
    idx,
    tag,
    id: tag,
    when: 1_700_000_000_000 + idx,
    version: "7",
    breakpoints: true,
    file,
    sql,
    checksum: drizzleChecksum(sql),
    statements: await analyzeSql(sql, file),
    down: null,
  };
}

export async function lintSet(sqls: string[], existingTables: ReadonlySet<string> = TARGET_TABLES): Promise<Finding[]> {
  const migrations = await Promise.all(sqls.map((sql, i) => migration(i, `000${i}_m${i}`, sql)));
  return lintMigrations(migrations, { existingTables });
}
