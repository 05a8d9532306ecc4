/**
 * Backfills as they are declared in db/backfills: one JSON file per backfill, reviewed like a
 * migration. A file names the table, the key the runner walks, what one batch sets, the predicate that
 * says a row still needs it (so a batch replayed after a crash changes nothing), and the migration the
 * target must have applied first. The checksum of the file goes into the plan hash: editing it voids
 * every approval.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { AppError } from "../errors";

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, "a lower-case SQL identifier (letters, digits, _)");

export const batchTuningSchema = z
  .object({
    /** The batch duration the runner steers toward. */
    targetMs: z.number().int().min(10).max(10_000).default(200),
    initialSize: z.number().int().min(1).default(100),
    minSize: z.number().int().min(1).default(10),
    maxSize: z.number().int().min(1).default(20_000),
    /** Per batch on the target: how long to wait for a row lock, and the whole statement. */
    lockTimeoutMs: z.number().int().min(10).max(60_000).default(1_000),
    statementTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  })
  .refine((b) => b.minSize <= b.initialSize && b.initialSize <= b.maxSize, "batch sizes must satisfy minSize ≤ initialSize ≤ maxSize");

export type BatchTuning = z.infer<typeof batchTuningSchema>;

export const backfillFileSchema = z.object({
  description: z.string().min(10, "say what the backfill does and why"),
  /** schema.table */
  table: z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, "schema.table, lower case"),
  /** The primary key column the runner walks in order. */
  key: identifier,
  /** The migration the target must have applied (its tag). */
  requires: z.string().regex(/^\d{4}_[a-z0-9_]+$/, "a migration tag such as 0002_brazilian_compliance"),
  /** column → SQL expression, applied to every row of a batch that still matches the predicate. */
  set: z.record(identifier, z.string().min(1)).refine((s) => Object.keys(s).length > 0, "set at least one column"),
  /** SQL boolean expression over the row: true while the row still needs the backfill. */
  predicate: z.string().min(1),
  batch: batchTuningSchema.optional(),
});

export interface BackfillDefinition extends z.infer<typeof backfillFileSchema> {
  /** The file's name without .json. */
  name: string;
  file: string;
  /** sha256 of the file's text. */
  checksum: string;
  schema: string;
  tableName: string;
  batch: BatchTuning;
}

export const BACKFILL_NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Every backfill a deployment can be opened for, and the files that cannot be read (each with why):
 * one broken file must not hide the others, nor the page that opens migrations.
 */
export async function listBackfills(dir: string): Promise<{ backfills: BackfillDefinition[]; problems: string[] }> {
  const names = await readdir(dir).then(
    (all) => all.filter((f) => f.endsWith(".json")).sort(),
    (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return [];
      throw e;
    },
  );
  const read = await Promise.allSettled(names.map((f) => loadBackfillFile(path.join(dir, f))));
  return {
    backfills: read.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
    problems: read.flatMap((r) => {
      if (r.status === "fulfilled") return [];
      if (r.reason instanceof AppError) return [r.reason.message];
      throw r.reason;
    }),
  };
}

/** One backfill, read from its own file only: another file being broken does not stop this one. */
export async function loadBackfill(dir: string, name: string): Promise<BackfillDefinition> {
  if (!BACKFILL_NAME.test(name)) throw new AppError("invalid_input", `"${name}" is not a backfill name (lower case, digits and -).`);
  try {
    return await loadBackfillFile(path.join(dir, `${name}.json`));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -".json".length)).sort();
  throw new AppError("not_found", `There is no backfill "${name}" in db/backfills${names.length ? ` (there are: ${names.join(", ")})` : ""}.`);
}

export async function loadBackfillFile(file: string): Promise<BackfillDefinition> {
  const text = await readFile(file, "utf8");
  const name = path.basename(file, ".json");
  const where = `db/backfills/${path.basename(file)}`;
  if (!BACKFILL_NAME.test(name)) throw new AppError("invalid_input", `${where}: the file name must be lower case letters, digits and - (it names the backfill).`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new AppError("invalid_input", `${where} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = backfillFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new AppError("invalid_input", `${where} is not a valid backfill: ${problems.join("; ")}`);
  }
  const [schema, tableName] = parsed.data.table.split(".") as [string, string];
  return {
    ...parsed.data,
    batch: parsed.data.batch ?? batchTuningSchema.parse({}),
    name,
    file: where,
    checksum: createHash("sha256").update(text).digest("hex"),
    schema,
    tableName,
  };
}
