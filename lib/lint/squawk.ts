/**
 * Squawk (squawk-cli 2.61.0) checks locking and rerun safety; the console does not re-implement
 * those rules. It runs once per lint over copies of the migrations' text (exactly what the catalog
 * parsed and checksummed) and its violations are mapped onto the catalog's statements.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { LintError } from "./errors";
import type { RuleInfo, Severity } from "./types";

/**
 * How the console treats each squawk rule:
 * - lock: blocks traffic on an existing table; lowered to info when every table the statement locks
 *   was created earlier in the same deployment (nobody else can be using it yet);
 * - rerun: only matters for statements the executor runs in autocommit; dropped for transactional
 *   ones, because the executor runs those in one transaction that rolls back whole;
 * - superseded: a console rule decides it with knowledge squawk lacks; the squawk finding is dropped;
 * - fixed: kept at the severity given.
 */
export type SquawkTreatment = "lock" | "rerun" | "superseded" | "fixed";

export interface SquawkRule {
  severity: Severity;
  treatment: SquawkTreatment;
  title: string;
  why: string;
  /** For "superseded": the console rule that decides instead. */
  supersededBy?: string;
}

/** The one mapping table from squawk 2.61.0's rules to the console's severities. */
export const SQUAWK_RULES: Readonly<Record<string, SquawkRule>> = {
  // Locks on existing tables.
  "require-concurrent-index-creation": {
    severity: "warning",
    treatment: "superseded",
    supersededBy: "console/non-concurrent-index",
    title: "CREATE INDEX without CONCURRENTLY",
    why: "Squawk only knows tables created in the same file; the console knows which tables exist on the target.",
  },
  "require-concurrent-index-deletion": {
    severity: "warning",
    treatment: "lock",
    title: "DROP INDEX without CONCURRENTLY",
    why: "DROP INDEX takes ACCESS EXCLUSIVE on the table, stopping reads and writes; use DROP INDEX CONCURRENTLY IF EXISTS in a non-transactional migration.",
  },
  "require-concurrent-reindex": {
    severity: "warning",
    treatment: "lock",
    title: "REINDEX without CONCURRENTLY",
    why: "A plain REINDEX blocks writes to the table and reads through the index; use REINDEX CONCURRENTLY.",
  },
  "adding-field-with-default": {
    severity: "warning",
    treatment: "lock",
    title: "Column with a volatile default or generated column",
    why: "A volatile default or a stored generated column rewrites the table under ACCESS EXCLUSIVE; add the column without it, then backfill in batches.",
  },
  "adding-foreign-key-constraint": {
    severity: "warning",
    treatment: "lock",
    title: "Foreign key validated while adding it",
    why: "Validation scans under SHARE ROW EXCLUSIVE on both tables, blocking their writes; add it NOT VALID, then VALIDATE CONSTRAINT in a later statement.",
  },
  "adding-not-nullable-field": {
    severity: "warning",
    treatment: "lock",
    title: "SET NOT NULL scans the table",
    why: "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE; add a CHECK (col IS NOT NULL) NOT VALID, validate it, then SET NOT NULL (PostgreSQL 12+ skips the scan).",
  },
  "adding-required-field": {
    severity: "warning",
    treatment: "lock",
    title: "NOT NULL column without a default",
    why: "Fails on any table that has rows (the shadow rehearsal has none, so it will not show); give it a default, or add it nullable and backfill.",
  },
  "adding-serial-primary-key-field": {
    severity: "warning",
    treatment: "lock",
    title: "Primary key built while adding it",
    why: "Builds the index under ACCESS EXCLUSIVE; build a unique index CONCURRENTLY first, then ADD PRIMARY KEY USING INDEX.",
  },
  "constraint-missing-not-valid": {
    severity: "warning",
    treatment: "lock",
    title: "Constraint validated while adding it",
    why: "Checking existing rows holds a lock that blocks writes for the whole scan; add it NOT VALID, then VALIDATE CONSTRAINT separately.",
  },
  "disallowed-unique-constraint": {
    severity: "warning",
    treatment: "lock",
    title: "UNIQUE constraint built while adding it",
    why: "Builds its index under ACCESS EXCLUSIVE; CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX.",
  },
  "changing-column-type": {
    severity: "warning",
    treatment: "superseded",
    supersededBy: "console/column-type-rewrite",
    title: "Column type change",
    why: "Most type changes rewrite the table under ACCESS EXCLUSIVE and break readers; add a new column, backfill, switch, then drop.",
  },
  // Rerun safety.
  "prefer-robust-stmts": {
    severity: "warning",
    treatment: "rerun",
    title: "Statement that cannot be rerun",
    why: "A non-transactional statement that fails part way is rerun by the next apply; IF [NOT] EXISTS lets the rerun pass (the executor rebuilds an invalid index itself).",
  },
  // Breaking clients or data.
  "ban-drop-column": {
    severity: "warning",
    treatment: "fixed",
    title: "Drops a column",
    why: "Readers that still select the column fail; stop using it in the application first, drop it in a later release.",
  },
  "ban-drop-table": {
    severity: "warning",
    treatment: "fixed",
    title: "Drops a table",
    why: "Destroys its data and breaks readers; stop using it first, archive what must be kept, drop it in a later release.",
  },
  "ban-drop-database": {
    severity: "error",
    treatment: "fixed",
    title: "Drops a database",
    why: "A migration never drops a database.",
  },
  "ban-drop-not-null": {
    severity: "warning",
    treatment: "fixed",
    title: "Drops NOT NULL",
    why: "Readers that rely on the column being set may break once nulls appear.",
  },
  "ban-truncate-cascade": {
    severity: "error",
    treatment: "fixed",
    title: "TRUNCATE ... CASCADE",
    why: "Also empties every table that references it, which the statement does not name; truncate the tables explicitly.",
  },
  "renaming-column": {
    severity: "warning",
    treatment: "fixed",
    title: "Renames a column",
    why: "Running application code still uses the old name; add the new column, backfill, switch readers, drop the old one later.",
  },
  "renaming-table": {
    severity: "warning",
    treatment: "fixed",
    title: "Renames a table",
    why: "Running application code still uses the old name; create a view under the old name during the switch, or migrate in steps.",
  },
  "ban-create-domain-with-constraint": {
    severity: "warning",
    treatment: "fixed",
    title: "Domain with a constraint",
    why: "Changing a domain's constraint later scans every column that uses it under heavy locks; put CHECK constraints on the tables.",
  },
  "ban-alter-domain-with-add-constraint": {
    severity: "warning",
    treatment: "fixed",
    title: "Adds a constraint to a domain",
    why: "Validates every column using the domain under heavy locks; put CHECK constraints on the tables.",
  },
  // Transactions: the executor owns them.
  "ban-concurrent-index-creation-in-transaction": {
    severity: "error",
    treatment: "fixed",
    title: "CONCURRENTLY inside a transaction",
    why: "PostgreSQL refuses it inside a transaction block; put it in its own non-transactional migration without BEGIN/COMMIT.",
  },
  "transaction-nesting": {
    severity: "error",
    treatment: "fixed",
    title: "Transaction control in a migration",
    why: "The executor wraps each migration in its own transaction; remove BEGIN/COMMIT/ROLLBACK from the file.",
  },
  "ban-uncommitted-transaction": {
    severity: "error",
    treatment: "fixed",
    title: "Transaction left open",
    why: "The executor wraps each migration in its own transaction; remove BEGIN/COMMIT from the file.",
  },
  // Timeouts: the executor sets them.
  "require-lock-timeout": {
    severity: "info",
    treatment: "fixed",
    title: "No lock_timeout in the file",
    why: "The executor sets lock_timeout (2 s by default) before every statement and retries a bounded number of times, so traffic never queues behind a migration.",
  },
  "require-statement-timeout": {
    severity: "info",
    treatment: "fixed",
    title: "No statement_timeout in the file",
    why: "The executor sets statement_timeout from its options (none by default, because index builds on big tables take long).",
  },
  "require-timeout-settings": {
    severity: "info",
    treatment: "fixed",
    title: "No timeouts in the file",
    why: "The executor sets lock_timeout and statement_timeout itself.",
  },
  // Style and types.
  "prefer-bigint-over-int": { severity: "info", treatment: "fixed", title: "32-bit integer", why: "A 32-bit integer key can run out; this schema uses uuid ids, so it matters for counters only." },
  "prefer-bigint-over-smallint": { severity: "info", treatment: "fixed", title: "16-bit integer", why: "A smallint can overflow; prefer integer or bigint unless the range is fixed." },
  "prefer-identity": { severity: "info", treatment: "fixed", title: "serial column", why: "Identity columns keep sequence ownership and privileges simpler than serial; this schema uses uuid ids." },
  "prefer-text-field": { severity: "info", treatment: "fixed", title: "varchar(n)", why: "Changing the limit later rewrites under ACCESS EXCLUSIVE; use text with a CHECK on length." },
  "ban-char-field": { severity: "info", treatment: "fixed", title: "char(n)", why: "char pads with spaces; use text (with a CHECK for fixed-length codes such as CPF)." },
  "prefer-timestamp-tz": {
    severity: "warning",
    treatment: "fixed",
    title: "timestamp without time zone",
    why: "Clinics span time zones and every time in this schema is a timestamptz; a bare timestamp loses the offset.",
  },
  "prefer-timestamptz": {
    severity: "warning",
    treatment: "fixed",
    title: "timestamp without time zone",
    why: "Clinics span time zones and every time in this schema is a timestamptz; a bare timestamp loses the offset.",
  },
  "require-enum-value-ordering": {
    severity: "info",
    treatment: "fixed",
    title: "Enum value without BEFORE/AFTER",
    why: "The value is appended last, which changes ORDER BY on the enum only if order matters to readers.",
  },
  // Squawk's own parser (not PostgreSQL's) failed: its rules did not see the statement.
  "syntax-error": {
    severity: "warning",
    treatment: "fixed",
    title: "Squawk could not read the statement",
    why: "PostgreSQL's parser accepts it, but squawk's did not, so no squawk rule checked its locks; review them by hand (the plan lists each statement's lock level).",
  },
};

/** For rules squawk adds in other versions: kept, at squawk's own level. */
export function unknownSquawkRule(name: string, level: string): SquawkRule {
  return {
    severity: level.toLowerCase() === "error" ? "error" : "warning",
    treatment: "fixed",
    title: name,
    why: "A squawk rule the console has no mapping for yet: read squawk's message and add it to SQUAWK_RULES.",
  };
}

export function squawkRuleInfo(name: string, r: SquawkRule): RuleInfo {
  return { id: `squawk/${name}`, source: "squawk", severity: r.severity, title: r.title, why: r.why };
}

// ---------------------------------------------------------------------------------------------
// Running squawk

const violationSchema = z.object({
  file: z.string(),
  line: z.number().int().nonnegative(),
  column: z.number().int().nonnegative(),
  level: z.string(),
  message: z.string(),
  help: z.string().nullable().optional(),
  rule_name: z.string(),
});
const outputSchema = z.array(violationSchema);

/** One squawk violation, with its position as squawk reports it (0-based line, 0-based UTF-8 byte column). */
export interface SquawkViolation {
  line: number;
  byteColumn: number;
  level: string;
  message: string;
  help: string | null;
  rule: string;
}

let resolvedBinary: string | null = null;

/** The native squawk binary that the squawk-cli package installed for this platform. */
export function squawkBinary(): string {
  if (resolvedBinary) return resolvedBinary;
  const attempts: string[] = [];
  for (const base of [import.meta.url, path.join(process.cwd(), "package.json")]) {
    try {
      const cli = createRequire(base)("squawk-cli/js/index.js") as { getBinaryPath(): string };
      resolvedBinary = cli.getBinaryPath();
      return resolvedBinary;
    } catch (error) {
      attempts.push((error as Error).message.split("\n")[0]!);
    }
  }
  throw new LintError(
    "squawk-unavailable",
    `squawk is not installed, so migrations cannot be linted (${attempts.at(-1)}). Run \`npm ci\`: squawk-cli 2.61.0 and its platform package provide the binary.`,
  );
}

/**
 * Lints each text with squawk in one run and returns the violations per text. Exit status 1 only
 * means "violations found"; anything else, or output that is not squawk's JSON, is a LintError.
 */
export async function runSquawk(texts: readonly string[], binary = squawkBinary(), pgMajorVersion = 15): Promise<SquawkViolation[][]> {
  if (texts.length === 0) return [];
  // Squawk's verdict is a function of the binary, the version and the texts: a re-plan of the same
  // files (the check before an apply, the next environment) reuses it instead of starting squawk again.
  const key = createHash("sha256").update(JSON.stringify([binary, pgMajorVersion, texts])).digest("hex");
  const known = verdicts.get(key);
  if (known) return known.map((list) => [...list]);
  const out = await squawkOnce(texts, binary, pgMajorVersion);
  verdicts.set(key, out);
  if (verdicts.size > VERDICTS_KEPT) verdicts.delete(verdicts.keys().next().value!);
  return out.map((list) => [...list]);
}

const verdicts = new Map<string, SquawkViolation[][]>();
const VERDICTS_KEPT = 64;

async function squawkOnce(texts: readonly string[], binary: string, pgMajorVersion: number): Promise<SquawkViolation[][]> {
  const dir = await mkdtemp(path.join(tmpdir(), "mc-lint-"));
  try {
    const files = texts.map((_, i) => path.join(dir, `${String(i).padStart(4, "0")}.sql`));
    await Promise.all(texts.map((text, i) => writeFile(files[i]!, text)));
    // --config /dev/null: a .squawk.toml in a parent folder must not change the console's rules.
    // --pg-version: rules such as adding-field-with-default depend on what the target's PostgreSQL can do.
    const args = ["--reporter", "json", "--pg-version", String(pgMajorVersion), "--config", "/dev/null", ...files];
    const { stdout, stderr, status } = await exec(binary, args);
    if (status !== 0 && status !== 1) {
      throw new LintError("squawk-failed", `squawk exited with status ${status}: ${stderr.trim() || stdout.trim() || "no output"}`);
    }
    let parsed;
    try {
      parsed = outputSchema.parse(JSON.parse(stdout));
    } catch (error) {
      throw new LintError(
        "squawk-failed",
        `squawk's output is not the JSON report squawk-cli 2.61.0 writes (${(error as Error).message.split("\n")[0]}); stderr: ${stderr.trim() || "empty"}`,
        { cause: error },
      );
    }
    const byFile = new Map(files.map((f, i) => [f, i]));
    const out: SquawkViolation[][] = texts.map(() => []);
    for (const v of parsed) {
      const i = byFile.get(v.file) ?? byFile.get(path.resolve(v.file));
      if (i === undefined) throw new LintError("squawk-failed", `squawk reported a file it was not given: ${v.file}`);
      out[i]!.push({ line: v.line, byteColumn: v.column, level: v.level, message: v.message, help: v.help ?? null, rule: v.rule_name });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function exec(binary: string, args: string[]): Promise<{ stdout: string; stderr: string; status: number }> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(
          new LintError(
            error.code === "ENOENT" || error.code === "EACCES" ? "squawk-unavailable" : "squawk-failed",
            `Cannot run squawk at ${binary}: ${error.message}. Run \`npm ci\` to install squawk-cli 2.61.0.`,
            { cause: error },
          ),
        );
        return;
      }
      resolve({ stdout, stderr, status: error ? (error.code as number) : 0 });
    });
  });
}
