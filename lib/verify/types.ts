import type postgres from "postgres";
import type { VerificationCatalog, CatalogSection } from "../introspect/verification-catalog";
import type { VerifyExpectations } from "./expectations";

/** domain.md "Compliance checks the console verifies", one group per numbered item (3 is split in three). */
export type CheckGroup =
  | "schemas-extensions-version"
  | "tables-columns"
  | "rls-enabled-forced"
  | "tenant-policies"
  | "append-only"
  | "isolation"
  | "roles"
  | "indexes"
  | "consent-proof"
  | "retention"
  | "telemedicine";

export type Severity = "critical" | "high" | "medium" | "low";

/**
 * - pass: the check ran and found nothing wrong.
 * - empty: the check ran and there was nothing to check (no such objects or rows); not a pass.
 * - warn: the check ran and found something to act on that does not break an invariant (overdue work).
 * - fail: the check ran and found a violation.
 * - error: the check could not run (the summary says why). Never counts as a pass.
 */
export type CheckStatus = "pass" | "empty" | "warn" | "fail" | "error";

export type Framework = "LGPD" | "CFM" | "ANVISA" | "NGS2";

export interface ControlRef {
  framework: Framework;
  /** "Art. 46", "Resolução 2314/2022", "record keeping", "audit trail". */
  ref: string;
}

export interface Evidence {
  /** The objects at fault, e.g. "public.patients", "policy patients_tenant_update on public.patients". */
  objects: string[];
  /** Details per object or per offending row; never secrets or personal data. */
  rows?: Record<string, unknown>[];
  /** SQL a person can paste into psql to reproduce the finding. */
  sql: string;
}

export interface CheckOutcome {
  status: CheckStatus;
  summary: string;
  evidence: Evidence;
}

export interface CheckContext {
  /** Counts every query it sends (the report's queryCount). */
  sql: postgres.Sql;
  /** The catalog sections the selected checks declared in `reads`, read once for all of them. */
  catalog: VerificationCatalog;
  expectations: VerifyExpectations;
}

export interface CheckDefinition {
  /** Stable: dashboards, snapshots and audit exports refer to it. */
  id: string;
  group: CheckGroup;
  title: string;
  severity: Severity;
  controls: readonly ControlRef[];
  /** How to fix a failure, in one or two sentences. */
  fix: string;
  /** Catalog sections the check evaluates (read in a fixed number of set-based queries for all checks). */
  reads: readonly CatalogSection[];
  run(ctx: CheckContext): CheckOutcome | Promise<CheckOutcome>;
}

export interface CheckResult extends CheckOutcome {
  checkId: string;
  group: CheckGroup;
  title: string;
  severity: Severity;
  controls: readonly ControlRef[];
  fix: string;
  /** The check's own work: its evaluation plus any query of its own (the shared catalog read is in the report). */
  durationMs: number;
}

export interface VerificationReport {
  startedAt: Date;
  durationMs: number;
  /** Every statement sent to the server, BEGIN/COMMIT/ROLLBACK included. */
  queryCount: number;
  /** The shared catalog read: time and the sections read. */
  catalog: { durationMs: number; sections: CatalogSection[] };
  /** `server_version` as the server reports it, e.g. "18.4". */
  serverVersion: string;
  serverVersionNum: number;
  /** No check failed and none errored (warnings allowed). */
  ok: boolean;
  counts: Record<CheckStatus, number>;
  results: CheckResult[];
}
