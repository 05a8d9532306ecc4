/**
 * A plan's risk summary, the first thing a reviewer reads: the highest finding severity, every
 * statement that takes ACCESS EXCLUSIVE or SHARE on a table that holds rows on the live target
 * (traffic queues behind those), and why compliance must sign off. Computed with each plan
 * revision, because whether a table holds rows is a fact of the target at planning time.
 */
import { connect } from "../connection/connect";
import type { Catalog, LockLevel } from "../migrations";
import type { Severity } from "../lint/types";
import { complianceReasons } from "../plan/compliance";
import type { Plan } from "../plan/plan";

/** The lock modes that stop ordinary reads (ACCESS EXCLUSIVE) or writes (SHARE) for as long as they are held. */
export const BLOCKING_LOCKS: readonly LockLevel[] = ["ACCESS EXCLUSIVE", "SHARE"];

export interface HeavyLock {
  tag: string;
  statement: number;
  summary: string;
  lockLevel: LockLevel;
  table: string;
}

export interface RiskSummary {
  highestSeverity: Severity | null;
  /** Statements taking a blocking lock on a table that holds rows. */
  heavyLocks: HeavyLock[];
  complianceReasons: string[];
}

const SEVERITY_ORDER: Severity[] = ["error", "warning", "info"];

/** The statements of the plan that take a blocking lock, with the tables they lock (from the catalog's analysis). */
export function blockingStatements(plan: Plan, catalog: Catalog): HeavyLock[] {
  const out: HeavyLock[] = [];
  for (const planned of plan.migrations) {
    const migration = catalog.byTag(planned.tag);
    const script = plan.kind === "rollback" ? migration?.down : migration;
    for (const statement of script?.statements ?? []) {
      for (const lock of statement.analysis.locks) {
        if (lock.isIndex || !BLOCKING_LOCKS.includes(lock.level)) continue;
        out.push({ tag: planned.tag, statement: statement.index + 1, summary: statement.analysis.summary, lockLevel: lock.level, table: `${lock.relation.schema}.${lock.relation.name}` });
      }
    }
  }
  return out;
}

/** Which of these tables hold at least one row on the target (a table that does not exist yet holds none). */
async function tablesWithRows(targetUrl: string, tables: string[]): Promise<Set<string>> {
  const withRows = new Set<string>();
  if (tables.length === 0) return withRows;
  const sql = connect(targetUrl, { application: "migration-console risk" });
  try {
    for (const table of tables) {
      const [schema, name] = table.split(".") as [string, string];
      const [found] = await sql<{ exists: boolean }[]>`select to_regclass(${`"${schema}"."${name}"`}) is not null as exists`;
      if (!found?.exists) continue;
      const [row] = await sql`select 1 from ${sql(schema)}.${sql(name)} limit 1`;
      if (row) withRows.add(table);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  return withRows;
}

export async function riskSummary(plan: Plan, catalog: Catalog, targetUrl: string): Promise<RiskSummary> {
  const blocking = blockingStatements(plan, catalog);
  const withRows = await tablesWithRows(targetUrl, [...new Set(blocking.map((b) => b.table))]);
  return {
    highestSeverity: SEVERITY_ORDER.find((s) => plan.findings.some((f) => f.severity === s)) ?? null,
    heavyLocks: blocking.filter((b) => withRows.has(b.table)),
    complianceReasons: complianceReasons(plan),
  };
}
