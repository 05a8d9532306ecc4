import type { AlterTableStmt, CreateStmt, Node } from "libpg-query";
import { analyzeSql, drizzleChecksum, type Migration, type Statement, type TableRef } from "../migrations";
import { tableKey, tableRef, unwrap } from "./ast";
import { LONG_LOCK_RULE, type LockFacts } from "./lock-rules";
import { CONSOLE_RULES, functionOptions, MARKER_RULES, searchPathChange, type RuleContext } from "./console-rules";
import { buildPendingSet, createdTables } from "./pending";
import { catalogSpelling } from "./type-change";
import { runSquawk, SQUAWK_RULES, squawkRuleInfo, unknownSquawkRule, type SquawkViolation } from "./squawk";
import { mergeTouches, needsSignoff, statementTouches } from "./touches";
import type { Finding, FindingTouches, LintContext, RuleInfo, Severity } from "./types";

/** What the squawk mapping needs to know about a statement, gathered during the console's pass. */
interface StatementState {
  touches: FindingTouches;
  /** It locks at least one table, and every table it locks was created earlier in the pending set. */
  locksOnlyNewTables: boolean;
  /** SET NOT NULL columns of the statement already covered by a validated CHECK (col IS NOT NULL). */
  notNullCovered: boolean;
}

/**
 * Squawk's rules read one statement's spelling; some verdicts change with what the console knows:
 * - constraint-missing-not-valid: NOT VALID exists only for foreign keys and checks. For UNIQUE and
 *   PRIMARY KEY squawk's own disallowed-unique-constraint / adding-serial-primary-key-field give the
 *   right advice (index CONCURRENTLY, then USING INDEX); EXCLUDE has no online form at all.
 * - adding-not-nullable-field: no scan when a validated CHECK (col IS NOT NULL) exists.
 * Returns null to drop the violation, or the `why` to show instead of the rule's.
 */
function refineSquawk(rule: string, s: Statement, state: StatementState): { why?: string } | null {
  if (rule === "adding-not-nullable-field" && state.notNullCovered) return null;
  if (rule !== "constraint-missing-not-valid") return {};
  const kinds = addedConstraintKinds(s);
  if (kinds.some((k) => k === "CONSTR_FOREIGN" || k === "CONSTR_CHECK")) return {};
  if (kinds.includes("CONSTR_EXCLUSION")) {
    return {
      why: "An exclusion constraint can be added neither NOT VALID nor USING INDEX: its index is built under ACCESS EXCLUSIVE. Add it in the migration that creates the table, or while the table's traffic is stopped.",
    };
  }
  return kinds.length > 0 ? null : {};
}

function addedConstraintKinds(s: Statement): string[] {
  const [kind, value] = unwrap(s.ast);
  if (kind !== "AlterTableStmt") return [];
  return ((value as AlterTableStmt).cmds ?? []).flatMap((c) =>
    "AlterTableCmd" in c && c.AlterTableCmd.subtype === "AT_AddConstraint" && c.AlterTableCmd.def && "Constraint" in c.AlterTableCmd.def
      ? [c.AlterTableCmd.def.Constraint.contype ?? ""]
      : [],
  );
}

/**
 * Columns covered by a validated CHECK (col IS NOT NULL): on the target, or made so earlier in the
 * pending set (added validated, or added NOT VALID then validated).
 */
class NotNullCoverage {
  private readonly covered: Set<string>;
  private readonly unvalidated = new Map<string, string>();
  constructor(initial: ReadonlySet<string> | undefined) {
    this.covered = new Set(initial ?? []);
  }
  covers(t: TableRef, column: string): boolean {
    return this.covered.has(`${tableKey(t)}.${column}`);
  }
  /** Records what the statement adds or validates. */
  after(s: Statement): void {
    const [kind, value] = unwrap(s.ast);
    if (kind !== "AlterTableStmt") return;
    const table = tableRef((value as AlterTableStmt).relation);
    for (const c of (value as AlterTableStmt).cmds ?? []) {
      if (!("AlterTableCmd" in c)) continue;
      const cmd = c.AlterTableCmd;
      if (cmd.subtype === "AT_ValidateConstraint") {
        const column = this.unvalidated.get(`${tableKey(table)}.${cmd.name}`);
        if (column) this.covered.add(`${tableKey(table)}.${column}`);
      }
      const con = cmd.subtype === "AT_AddConstraint" && cmd.def && "Constraint" in cmd.def ? cmd.def.Constraint : null;
      const column = con?.contype === "CONSTR_CHECK" ? isNotNullTest(con.raw_expr) : null;
      if (!con || !column) continue;
      if (con.skip_validation) this.unvalidated.set(`${tableKey(table)}.${con.conname}`, column);
      else this.covered.add(`${tableKey(table)}.${column}`);
    }
  }
}

/**
 * Each column's type as the pending set leaves it: the target's, then what ADD COLUMN, CREATE TABLE and
 * ALTER … TYPE declare, in order. A column added by an earlier pending migration and retyped by a later
 * one is judged from its declared type, not as unknown (which would count varchar(n) → text a rewrite).
 */
class ColumnTypes {
  private readonly types: Map<string, string | undefined>;
  constructor(initial: ReadonlyMap<string, string> | undefined) {
    this.types = new Map(initial ?? []);
  }
  of(t: TableRef, column: string): string | undefined {
    return this.types.get(`${tableKey(t)}.${column}`);
  }
  /** Records the types the statement declares. */
  after(s: Statement): void {
    const [kind, value] = unwrap(s.ast);
    if (kind === "CreateStmt") {
      const table = tableRef((value as CreateStmt).relation);
      for (const e of (value as CreateStmt).tableElts ?? []) {
        if ("ColumnDef" in e && e.ColumnDef.colname) this.types.set(`${tableKey(table)}.${e.ColumnDef.colname}`, catalogSpelling(e.ColumnDef.typeName));
      }
      return;
    }
    if (kind !== "AlterTableStmt") return;
    const table = tableRef((value as AlterTableStmt).relation);
    for (const c of (value as AlterTableStmt).cmds ?? []) {
      if (!("AlterTableCmd" in c)) continue;
      const cmd = c.AlterTableCmd;
      const def = cmd.def && "ColumnDef" in cmd.def ? cmd.def.ColumnDef : undefined;
      if (cmd.subtype === "AT_AddColumn" && def?.colname) this.types.set(`${tableKey(table)}.${def.colname}`, catalogSpelling(def.typeName));
      else if (cmd.subtype === "AT_AlterColumnType" && cmd.name) this.types.set(`${tableKey(table)}.${cmd.name}`, catalogSpelling(def?.typeName));
      else if (cmd.subtype === "AT_DropColumn" && cmd.name) this.types.delete(`${tableKey(table)}.${cmd.name}`);
    }
  }
}

/** CREATE (OR REPLACE) sets a function's SET clauses anew; ALTER changes only those it names. */
function recordSearchPath(fixed: Set<string>, s: Statement): void {
  const f = functionOptions(s);
  if (!f) return;
  const changes = f.options.map(searchPathChange);
  if (changes.includes("set")) fixed.add(f.key);
  else if (f.created || changes.includes("reset")) fixed.delete(f.key);
}

/** `col IS NOT NULL` → "col". */
function isNotNullTest(expr: Node | undefined): string | null {
  if (!expr || !("NullTest" in expr) || expr.NullTest.nulltesttype !== "IS_NOT_NULL") return null;
  const arg = expr.NullTest.arg;
  const last = arg && "ColumnRef" in arg ? arg.ColumnRef.fields?.at(-1) : undefined;
  return last && "String" in last ? (last.String.sval ?? null) : null;
}

type Draft = Omit<Finding, "id"> & { position: number };

/**
 * Lints pending migrations, given in the order they will run (by idx for an apply; a rollback passes
 * its down scripts newest first). Tables named in `context.existingTables` exist on the target; tables
 * created earlier in the set count as new. Findings come in that order of migrations, then by
 * statement and rule. Throws LintError when squawk cannot run.
 */
export async function lintMigrations(migrations: readonly Migration[], context: LintContext): Promise<Finding[]> {
  const ordered = [...migrations];
  const squawk = runSquawk(
    ordered.map((m) => m.sql),
    context.squawkBinary,
    context.pgMajorVersion,
  );
  squawk.catch(() => undefined); // awaited below; keeps a failure during the console pass from going unhandled

  const drafts: Draft[] = [];
  const states = consolePass(ordered, context, drafts);
  const violations = await squawk;
  ordered.forEach((m, position) => {
    for (const v of violations[position] ?? []) {
      const draft = squawkFinding(m, position, v, states[position]!);
      if (draft) drafts.push(draft);
    }
  });
  addMarkers(ordered, states, drafts);
  return withIds(withoutExplainedLocks(drafts).sort(compareDrafts));
}

/** Rules that already say why a statement's lock is held long: the general long-lock finding adds nothing. */
const LOCK_EXPLAINED_BY = new Set([
  ...Object.entries(SQUAWK_RULES).filter(([, r]) => r.treatment === "lock").map(([name]) => `squawk/${name}`),
  "console/non-concurrent-index",
  "console/column-type-rewrite",
  "console/retype-tagged-column",
]);

function withoutExplainedLocks(drafts: Draft[]): Draft[] {
  const explained = new Set(drafts.filter((d) => LOCK_EXPLAINED_BY.has(d.rule) && d.severity !== "info").map((d) => `${d.position}:${d.statement}`));
  return drafts.filter((d) => d.rule !== LONG_LOCK_RULE.id || !explained.has(`${d.position}:${d.statement}`));
}

/** Lints ad-hoc SQL as one migration (drizzle breakpoints allowed). Throws SqlSyntaxError for SQL PostgreSQL rejects. */
export async function lintSql(sql: string, context: LintContext & { tag?: string; file?: string }): Promise<Finding[]> {
  const file = context.file ?? "<sql>";
  const tag = context.tag ?? "sql";
  const statements = await analyzeSql(sql, file);
  const migration: Migration = {
    idx: 0,
    tag,
    id: tag,
    when: 0,
    version: "7",
    breakpoints: true,
    file,
    sql,
    checksum: drizzleChecksum(sql),
    statements,
    down: null,
  };
  return lintMigrations([migration], context);
}

function consolePass(ordered: Migration[], context: LintContext, drafts: Draft[]): StatementState[][] {
  const pending = buildPendingSet(ordered, context.existingTables);
  const created = new Set<string>();
  const isNewTable = (t: { schema: string; name: string }) => created.has(tableKey(t));
  const notNull = new NotNullCoverage(context.validatedNotNullChecks);
  const columnTypes = new ColumnTypes(context.existingColumnTypes);
  const fixedSearchPath = new Set(context.functionsWithFixedSearchPath ?? []);
  const facts: LockFacts = {
    columnType: (t, c) => columnTypes.of(t, c),
    notNullCovered: (t, c) => notNull.covers(t, c),
  };
  return ordered.map((migration, position) => {
    const ctx: RuleContext = { migration, position, pending, isNewTable, facts, hasFixedSearchPath: (key) => fixedSearchPath.has(key) };
    return migration.statements.map((s) => {
      const touches = statementTouches(s);
      for (const rule of CONSOLE_RULES) {
        for (const hit of rule.check(s, ctx)) {
          drafts.push(draft(rule, rule.severity, migration, position, s, hit.message, mergeTouches(touches, hit.touches ?? {})));
        }
      }
      const locked = s.analysis.locks.filter((l) => !l.isIndex).map((l) => l.relation);
      const setNotNull = s.analysis.columns.filter((c) => c.action === "set-not-null");
      const state = {
        touches,
        locksOnlyNewTables: locked.length > 0 && locked.every(isNewTable),
        notNullCovered: setNotNull.length > 0 && setNotNull.every((c) => notNull.covers(c.table, c.name)),
      };
      for (const t of createdTables(s)) if (!context.existingTables.has(tableKey(t))) created.add(tableKey(t));
      notNull.after(s);
      columnTypes.after(s);
      recordSearchPath(fixedSearchPath, s);
      return state;
    });
  });
}

function squawkFinding(m: Migration, position: number, v: SquawkViolation, states: StatementState[]): Draft | null {
  const rule = SQUAWK_RULES[v.rule] ?? unknownSquawkRule(v.rule, v.level);
  const offset = offsetOf(m.sql, v.line, v.byteColumn);
  const s = statementAt(m.statements, offset);
  if (!s) return null; // a file without statements: nothing squawk says can apply
  const state = states[s.index]!;
  let severity = rule.severity;
  let adjusted: string | undefined;
  const refined = refineSquawk(v.rule, s, state);
  if (refined === null) return null;
  switch (rule.treatment) {
    case "superseded":
      return null;
    case "rerun":
      if (s.analysis.transactional) return null;
      break;
    case "lock":
      if (state.locksOnlyNewTables) {
        severity = "info";
        adjusted = "Every table it locks is created earlier in this deployment: nobody else uses it yet.";
      }
      break;
    case "fixed":
      break;
  }
  const { line, column } = positionOf(m.sql, offset);
  return {
    ...draft(squawkRuleInfo(v.rule, rule), severity, m, position, s, v.message, state.touches),
    ...(refined.why ? { why: refined.why } : {}),
    line,
    column,
    ...(adjusted ? { adjusted } : {}),
    squawk: { rule: v.rule, level: v.level, help: v.help },
  };
}

/** Statements that touch tagged data, RLS or policies and drew no finding get a marker. */
function addMarkers(ordered: Migration[], states: StatementState[][], drafts: Draft[]): void {
  const flagged = new Set(drafts.map((d) => `${d.position}:${d.statement}`));
  ordered.forEach((m, position) => {
    for (const s of m.statements) {
      const touches = states[position]![s.index]!.touches;
      if (!needsSignoff(touches) || flagged.has(`${position}:${s.index + 1}`)) continue;
      if (touches.taggedData) {
        drafts.push(draft(MARKER_RULES.taggedData, "info", m, position, s, `${s.analysis.summary}: touches ${touches.classes.join(", ")} data.`, touches));
      }
      if (touches.rls || touches.policies) {
        drafts.push(draft(MARKER_RULES.rls, "info", m, position, s, `${s.analysis.summary}: changes ${touches.policies ? "policies" : "row level security"}.`, touches));
      }
    }
  });
}

function draft(rule: RuleInfo, severity: Severity, m: Migration, position: number, s: Statement, message: string, touches: FindingTouches): Draft {
  return {
    rule: rule.id,
    source: rule.source,
    severity,
    message,
    why: rule.why,
    tag: m.tag,
    file: m.file,
    statement: s.index + 1,
    line: s.line,
    column: s.column,
    summary: s.analysis.summary,
    touches,
    requiresComplianceSignoff: needsSignoff(touches),
    position,
  };
}

function compareDrafts(a: Draft, b: Draft): number {
  return (
    a.position - b.position ||
    a.statement - b.statement ||
    (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0) ||
    a.line - b.line ||
    a.column - b.column ||
    (a.message < b.message ? -1 : a.message > b.message ? 1 : 0)
  );
}

function withIds(sorted: Draft[]): Finding[] {
  const seen = new Map<string, number>();
  return sorted.map(({ position: _position, ...f }) => {
    const base = `${f.tag}:${f.statement}:${f.rule}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { id: n === 1 ? base : `${base}#${n}`, ...f };
  });
}

// ---------------------------------------------------------------------------------------------
// Positions

/** UTF-16 offset of squawk's position: 0-based line, 0-based UTF-8 byte column within that line. */
function offsetOf(text: string, line: number, byteColumn: number): number {
  let start = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf("\n", start);
    if (nl === -1) return text.length;
    start = nl + 1;
  }
  let bytes = 0;
  let i = start;
  while (bytes < byteColumn && i < text.length && text[i] !== "\n") {
    const cp = text.codePointAt(i)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

/** 1-based line and UTF-16 column of an offset. */
function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf("\n"); nl !== -1 && nl < offset; nl = text.indexOf("\n", nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** The statement containing the offset; between statements (comments, blank lines), the next one. */
function statementAt(statements: readonly Statement[], offset: number): Statement | undefined {
  let found: Statement | undefined;
  for (const s of statements) {
    if (s.offset > offset) return found && offset <= found.offset + found.sql.length ? found : s;
    found = s;
  }
  return found;
}
