import type { DataClass } from "../../db/schema/classification";

export type Severity = "error" | "warning" | "info";
export type FindingSource = "squawk" | "console";

/** What a finding's statement changes that compliance cares about. */
export interface FindingTouches {
  /** Columns or whole tables tagged in db/schema/classification.ts. */
  taggedData: boolean;
  /** Sorted as DATA_CLASSES. */
  classes: DataClass[];
  /** Row level security of a table, or a role's ability to bypass it. */
  rls: boolean;
  policies: boolean;
}

export interface Finding {
  /** `${tag}:${statement}:${rule}`, with `#2`, `#3` ... when a rule fires more than once on one statement. */
  id: string;
  /** "squawk/<squawk rule>" or "console/<rule>"; a key of RULES. */
  rule: string;
  source: FindingSource;
  severity: Severity;
  message: string;
  /** One line: why it matters and the safe alternative. */
  why: string;
  tag: string;
  /** The migration's file as the catalog names it ("<sql>" for ad-hoc SQL). */
  file: string;
  /** 1-based statement number within the file. */
  statement: number;
  /** 1-based line and column (UTF-16 code units) in the file. */
  line: number;
  column: number;
  /** The catalog's one-line summary of the statement. */
  summary: string;
  touches: FindingTouches;
  /** True whenever the finding touches tagged data, RLS or policies: gates require the compliance officer. */
  requiresComplianceSignoff: boolean;
  /** Why this finding's severity differs from the rule's default in RULES, when it does. */
  adjusted?: string;
  /** Squawk's own verdict, for squawk findings. */
  squawk?: { rule: string; level: string; help: string | null };
}

export interface LintContext {
  /** "schema.table" for every table that exists on the target before the pending migrations. */
  existingTables: ReadonlySet<string>;
  /** `schema.table.column` → the column's type on the target (format_type), to tell type changes that rewrite from those that do not. */
  existingColumnTypes?: ReadonlyMap<string, string>;
  /** `schema.table.column` covered by a validated `CHECK (column IS NOT NULL)` on the target: SET NOT NULL skips its scan. */
  validatedNotNullChecks?: ReadonlySet<string>;
  /** `schema.name` of the target's functions and procedures whose every overload has a SET search_path (ALTER FUNCTION … SECURITY DEFINER keeps it). */
  functionsWithFixedSearchPath?: ReadonlySet<string>;
  /** The target's PostgreSQL major version, for squawk's version-dependent rules (default 15, the oldest supported). */
  pgMajorVersion?: number;
  /** Path of the squawk binary; resolved from the squawk-cli package when omitted. */
  squawkBinary?: string;
}

export interface RuleInfo {
  id: string;
  source: FindingSource;
  /** Default severity; squawk findings may be lowered to info (see `adjusted` on the finding). */
  severity: Severity;
  title: string;
  why: string;
}
