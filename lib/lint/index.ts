/**
 * Safety and compliance findings per migration statement: squawk's locking and rerun rules, and the
 * console's own rules on tagged data, row level security, policies, grants and roles.
 */
export { lintMigrations, lintSql } from "./lint";
export { RULES, ruleInfo } from "./rules";
export { SQUAWK_RULES, type SquawkRule, type SquawkTreatment } from "./squawk";
export { LintError, type LintErrorCode } from "./errors";
export type { Finding, FindingSource, FindingTouches, LintContext, RuleInfo, Severity } from "./types";
