import { analyzeSql, drizzleChecksum, type Migration, type Statement } from "../catalog";
import { tableKey } from "./ast";
import { CONSOLE_RULES, MARKER_RULES, type RuleContext } from "./console-rules";
import { buildPendingSet, createdTables } from "./pending";
import { runSquawk, SQUAWK_RULES, squawkRuleInfo, unknownSquawkRule, type SquawkViolation } from "./squawk";
import { mergeTouches, needsSignoff, statementTouches } from "./touches";
import type { Finding, FindingTouches, LintContext, RuleInfo, Severity } from "./types";

/** What the squawk mapping needs to know about a statement, gathered during the console's pass. */
interface StatementState {
  touches: FindingTouches;
  /** It locks at least one table, and every table it locks was created earlier in the pending set. */
  locksOnlyNewTables: boolean;
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
  return withIds(drafts.sort(compareDrafts));
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
  return ordered.map((migration, position) => {
    const ctx: RuleContext = { migration, position, pending, isNewTable };
    return migration.statements.map((s) => {
      const touches = statementTouches(s);
      for (const rule of CONSOLE_RULES) {
        for (const hit of rule.check(s, ctx)) {
          drafts.push(draft(rule, rule.severity, migration, position, s, hit.message, mergeTouches(touches, hit.touches ?? {})));
        }
      }
      const locked = s.analysis.locks.filter((l) => !l.isIndex).map((l) => l.relation);
      const state = { touches, locksOnlyNewTables: locked.length > 0 && locked.every(isNewTable) };
      for (const t of createdTables(s)) if (!context.existingTables.has(tableKey(t))) created.add(tableKey(t));
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
