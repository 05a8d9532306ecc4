import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { analyzeStatement } from "./analyze";
import { CatalogError, SqlSyntaxError } from "./errors";
import { ensureParser, LineIndex, splitSql } from "./parser";
import type { Catalog, CatalogWarning, Journal, Migration, SqlScript, Statement } from "./types";

const journalSchema = z.object({
  version: z.string(),
  dialect: z.literal("postgresql"),
  entries: z.array(
    z.object({
      idx: z.number().int().nonnegative(),
      version: z.string(),
      when: z.number().int().nonnegative(),
      // The tag becomes a file name: nothing that could leave the folder.
      tag: z.string().regex(/^[\w.-]+$/, "a tag is a plain file name (letters, digits, _ . -)"),
      breakpoints: z.boolean(),
    }),
  ),
});

const JOURNAL = path.join("meta", "_journal.json");
const DOWN_SUFFIX = ".down.sql";

/**
 * Reads a drizzle-kit migrations folder: journal, every `NNNN_tag.sql` and its `NNNN_tag.down.sql`.
 * Structural problems throw a CatalogError on the first one found. Syntax errors are collected over
 * the whole folder (ups and downs) and thrown together: one SqlSyntaxError for the first in journal
 * order, the rest in its `also`.
 */
export async function loadCatalog(dir: string): Promise<Catalog> {
  const root = path.resolve(dir);
  const journal = await readJournal(root);
  const names = await listSqlFiles(root);

  const tags = new Set(journal.entries.map((e) => e.tag));
  for (const name of names) {
    if (name.endsWith(DOWN_SUFFIX)) {
      if (!tags.has(name.slice(0, -DOWN_SUFFIX.length))) {
        throw new CatalogError(
          "down-without-up",
          path.join(root, name),
          `${name} is a rollback for a migration the journal does not list. Rename it after its migration's tag or delete it.`,
        );
      }
    } else if (!tags.has(name.slice(0, -".sql".length))) {
      throw new CatalogError(
        "migration-not-in-journal",
        path.join(root, name),
        `${name} is not in ${JOURNAL}, so drizzle would never apply it. Generate it with drizzle-kit (\`generate --custom\` for hand-written SQL) or delete it.`,
      );
    }
  }

  await ensureParser();
  const loaded = await Promise.all(
    [...journal.entries]
      .sort((a, b) => a.idx - b.idx)
      .map(async (entry) => {
        const up = await readScript(path.join(root, `${entry.tag}.sql`));
        const downName = `${entry.tag}${DOWN_SUFFIX}`;
        const down = names.has(downName) ? await readScript(path.join(root, downName)) : null;
        const migration: Migration = { ...entry, id: entry.tag, ...up.script, down: down?.script ?? null };
        return { migration, errors: [...up.errors, ...(down?.errors ?? [])] };
      }),
  );
  const [first, ...rest] = loaded.flatMap((l) => l.errors); // journal order, ups before their downs
  if (first) throw first.withFurther(rest);
  const migrations = loaded.map((l) => l.migration);

  return makeCatalog(root, journal, migrations);
}

/** Splits and analyzes ad-hoc SQL (drizzle breakpoints allowed). Throws SqlSyntaxError, with any further errors in `also`. */
export async function analyzeSql(sql: string, file = "<sql>"): Promise<Statement[]> {
  await ensureParser();
  const { statements, errors } = buildStatements(sql, file);
  const [first, ...rest] = errors;
  if (first) throw first.withFurther(rest);
  return statements;
}

/** sha256 hex of a migration file's text, exactly as drizzle's migrator computes it for its ledger. */
export function drizzleChecksum(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function readScript(file: string): Promise<{ script: SqlScript; errors: SqlSyntaxError[] }> {
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (error) {
    if (isNotFound(error)) {
      throw new CatalogError(
        "migration-file-missing",
        file,
        `The journal lists ${path.basename(file, ".sql")} but ${path.basename(file)} does not exist. Restore the file or regenerate the migrations.`,
      );
    }
    throw new CatalogError("read-failed", file, `Cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  // drizzle reads with `.toString()` (UTF-8 decoding) and hashes that string: do the same so the
  // checksum matches its ledger even for files that are not valid UTF-8.
  const sql = buffer.toString();
  const { statements, errors } = buildStatements(sql, file);
  return { script: { file, sql, checksum: drizzleChecksum(sql), statements }, errors };
}

function buildStatements(text: string, file: string): { statements: Statement[]; errors: SqlSyntaxError[] } {
  const { statements: raw, errors } = splitSql(text, file);
  const lines = new LineIndex(text);
  const statements = raw.map((r, index): Statement => {
    const sql = text.slice(r.start, r.end);
    const { line, column } = lines.position(r.start);
    return { index, chunk: r.chunk, sql, line, column, offset: r.start, analysis: analyzeStatement(r.ast, sql), ast: r.ast };
  });
  return { statements, errors };
}

async function readJournal(root: string): Promise<Journal> {
  const file = path.join(root, JOURNAL);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (!isNotFound(error)) {
      throw new CatalogError("read-failed", file, `Cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    const dirExists = await readdir(root).then(
      () => true,
      () => false,
    );
    if (!dirExists) {
      throw new CatalogError("dir-missing", root, `The migrations folder ${root} does not exist. Check the migrations path, or run drizzle-kit generate.`);
    }
    throw new CatalogError("journal-missing", file, `${root} has no ${JOURNAL}: it is not a drizzle-kit migrations folder, or the journal was deleted.`);
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CatalogError("journal-invalid", file, `${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = journalSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
    throw new CatalogError("journal-invalid", file, `${file} is not a drizzle-kit PostgreSQL journal:\n${problems}`);
  }

  const journal = parsed.data;
  for (const key of ["idx", "tag"] as const) {
    const seen = new Set<unknown>();
    for (const entry of journal.entries) {
      if (seen.has(entry[key])) {
        throw new CatalogError("duplicate-entry", file, `${file} lists ${key} ${JSON.stringify(entry[key])} twice. Resolve the merge in the journal.`);
      }
      seen.add(entry[key]);
    }
  }
  return journal;
}

async function listSqlFiles(root: string): Promise<Set<string>> {
  const entries = await readdir(root, { withFileTypes: true });
  return new Set(entries.filter((e) => e.isFile() && e.name.endsWith(".sql")).map((e) => e.name));
}

function makeCatalog(dir: string, journal: Journal, migrations: Migration[]): Catalog {
  const warnings: CatalogWarning[] = [];
  let previous: Migration | null = null;
  for (const m of migrations) {
    if (previous && m.when <= previous.when) {
      warnings.push({
        code: "when-not-increasing",
        tag: m.tag,
        message: `${m.tag} has an older \`when\` than ${previous.tag}: drizzle decides what is pending by \`when\` alone and would skip it on a database that already has ${previous.tag}.`,
      });
    }
    if (m.statements.length === 0) {
      warnings.push({ code: "empty-migration", tag: m.tag, message: `${m.tag} contains no SQL statements.` });
    }
    previous = m;
  }
  const byTag = new Map(migrations.map((m) => [m.tag, m]));
  return {
    dir,
    journal,
    migrations,
    latest: migrations.at(-1) ?? null,
    byTag: (tag) => byTag.get(tag),
    warnings,
  };
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === "ENOENT";
}
