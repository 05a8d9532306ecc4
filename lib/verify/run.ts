/**
 * Runs the checks against one target database: the catalog sections the selected checks read, once, in
 * a fixed number of queries; the data checks (one query each) and the isolation probe (one script)
 * concurrently with each other, on the connections of the pool it is given.
 */
import type postgres from "postgres";
import { readVerificationCatalog, type CatalogSection, type VerificationCatalog } from "../introspect/verification-catalog";
import { countingSql } from "./counting";
import { verifyExpectations } from "./expectations";
import { CHECKS } from "./registry";
import type { CheckDefinition, CheckOutcome, CheckResult, CheckStatus, VerificationReport } from "./types";

export interface VerificationOptions {
  /** Check ids to run (all of them by default); an unknown id is refused. */
  checks?: string[];
}

function select(ids: string[] | undefined): readonly CheckDefinition[] {
  if (!ids) return CHECKS;
  const unknown = ids.filter((id) => !CHECKS.some((c) => c.id === id));
  if (unknown.length) throw new Error(`Unknown check id(s): ${unknown.join(", ")}. Known: ${CHECKS.map((c) => c.id).join(", ")}.`);
  return CHECKS.filter((c) => ids.includes(c.id));
}

function describeError(e: unknown): string {
  const err = e as { message?: string; code?: string };
  return `${err.message ?? String(e)}${err.code ? ` (${err.code})` : ""}`;
}

/** Checks that read no catalog section get this; touching it is a bug in the check's `reads`. */
const NO_CATALOG = Object.freeze({}) as VerificationCatalog;

export async function runVerification(sql: postgres.Sql, options: VerificationOptions = {}): Promise<VerificationReport> {
  const checks = select(options.checks);
  const startedAt = new Date();
  const t0 = performance.now();
  const counter = { count: 0 };
  const counted = countingSql(sql, counter);
  const expectations = verifyExpectations();

  const sections = [...new Set<CatalogSection>(["server", ...checks.flatMap((c) => c.reads)])];
  let catalogMs = 0;
  const catalogRead = (async () => {
    const start = performance.now();
    try {
      return await readVerificationCatalog(counted, expectations, sections);
    } finally {
      catalogMs = performance.now() - start;
    }
  })();
  // Checks that need the catalog wait for it; the others (the probe) start at once.
  catalogRead.catch(() => {});

  const results = await Promise.all(
    checks.map(async (check): Promise<CheckResult> => {
      let outcome: CheckOutcome;
      let start = performance.now();
      try {
        const catalog = check.reads.length > 0 ? await catalogRead : NO_CATALOG;
        start = performance.now();
        outcome = await check.run({ sql: counted, catalog, expectations });
      } catch (e) {
        outcome = {
          status: "error",
          summary: `The check could not run: ${describeError(e)}`,
          evidence: { objects: [], sql: (e as { evidenceSql?: string }).evidenceSql ?? "" },
        };
      }
      return {
        checkId: check.id,
        group: check.group,
        title: check.title,
        severity: check.severity,
        controls: check.controls,
        fix: check.fix,
        ...outcome,
        durationMs: performance.now() - start,
      };
    }),
  );

  const server = await catalogRead.then((c) => c.server).catch(() => null);
  const counts: Record<CheckStatus, number> = { pass: 0, empty: 0, warn: 0, fail: 0, error: 0 };
  for (const r of results) counts[r.status]++;
  return {
    startedAt,
    durationMs: performance.now() - t0,
    queryCount: counter.count,
    catalog: { durationMs: catalogMs, sections },
    serverVersion: server?.version ?? "unknown",
    serverVersionNum: server?.versionNum ?? 0,
    ok: counts.fail === 0 && counts.error === 0,
    counts,
    results,
  };
}
