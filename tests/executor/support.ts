/**
 * Fixture migration folders (journal + up + down files, built in a temp dir), event recording and the
 * catalog facts an operator would look at after a run: invalid indexes, the apply lock, the ledgers.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type postgres from "postgres";
import { expect } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { ExecutorError, type EventSink, type RunEvent } from "../../lib/executor";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../db/migrations");
export const BREAKPOINT = "\n--> statement-breakpoint\n";

/** A migration of a fixture folder; `when` defaults to a fixed base plus one second per position. */
export interface FixtureMigration {
  tag: string;
  up: string;
  down?: string;
  when?: number;
}

export const BASE_WHEN = 1_700_000_000_000;

/** drizzle-kit's file layout: statements separated by breakpoints. */
export function statements(...sql: string[]): string {
  return sql.join(BREAKPOINT) + "\n";
}

const folders: string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mc-${prefix}-`));
  folders.push(dir);
  return dir;
}

/** Removes every folder this file created; call from afterAll. */
export function removeFixtureFolders(): void {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

interface JournalFile {
  version: string;
  dialect: string;
  entries: { idx: number; version: string; when: number; tag: string; breakpoints: boolean }[];
}

function readJournal(dir: string): JournalFile {
  return JSON.parse(fs.readFileSync(path.join(dir, "meta/_journal.json"), "utf8")) as JournalFile;
}

function writeJournal(dir: string, journal: JournalFile): void {
  fs.writeFileSync(path.join(dir, "meta/_journal.json"), JSON.stringify(journal, null, 2));
}

/** Writes a drizzle-kit migrations folder in a temp dir and returns its path. */
export function migrationsFolder(migrations: FixtureMigration[]): string {
  const dir = tempDir("migrations");
  fs.mkdirSync(path.join(dir, "meta"));
  writeJournal(dir, { version: "7", dialect: "postgresql", entries: [] });
  for (const m of migrations) addMigration(dir, m);
  return dir;
}

/** Appends a migration to a folder's journal (next idx) and writes its files. */
export function addMigration(dir: string, migration: FixtureMigration): void {
  const journal = readJournal(dir);
  const idx = journal.entries.length;
  journal.entries.push({ idx, version: "7", when: migration.when ?? BASE_WHEN + idx * 1000, tag: migration.tag, breakpoints: true });
  writeJournal(dir, journal);
  fs.writeFileSync(path.join(dir, `${migration.tag}.sql`), migration.up);
  if (migration.down !== undefined) fs.writeFileSync(path.join(dir, `${migration.tag}.down.sql`), migration.down);
}

/** Drops the last journal entries (as if this checkout were older than the target). */
export function truncateJournal(dir: string, keep: number): void {
  const journal = readJournal(dir);
  for (const e of journal.entries.slice(keep)) {
    fs.rmSync(path.join(dir, `${e.tag}.sql`), { force: true });
    fs.rmSync(path.join(dir, `${e.tag}.down.sql`), { force: true });
  }
  journal.entries = journal.entries.slice(0, keep);
  writeJournal(dir, journal);
}

/** A temp copy of a migrations folder (the real history by default), to edit without touching the original. */
export function copyOfFolder(src = MIGRATIONS_DIR): string {
  const dir = tempDir("copy");
  fs.cpSync(src, dir, { recursive: true });
  return dir;
}

export function fixtureCatalog(migrations: FixtureMigration[]): Promise<Catalog> {
  return loadCatalog(migrationsFolder(migrations));
}

/** 1-based line and column of the first occurrence of `needle` in `text`, computed independently of the catalog. */
export function positionOf(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${JSON.stringify(needle)} is not in the fixture`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

export type RecordedEvent = RunEvent & { at: Date };

export function recorder(): { events: RecordedEvent[]; onEvent: EventSink; of<T extends RunEvent["type"]>(type: T): Extract<RecordedEvent, { type: T }>[] } {
  const events: RecordedEvent[] = [];
  return {
    events,
    onEvent: (e) => {
      events.push(e);
    },
    of: (type) => events.filter((e) => e.type === type) as never,
  };
}

/** Awaits a run that must fail and returns its ExecutorError (any other outcome fails the test). */
export async function failure(run: Promise<unknown>): Promise<ExecutorError> {
  const outcome = await run.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected the run to fail, it succeeded: ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ExecutorError);
  return outcome.error as ExecutorError;
}

/** Indexes PostgreSQL marks invalid (a failed CONCURRENTLY build) in the given schema. */
export async function invalidIndexes(sql: postgres.Sql, schema = "public"): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_index i
    join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and not i.indisvalid order by 1`;
  return rows.map((r) => r.name);
}

export async function indexIsValid(sql: postgres.Sql, name: string, schema = "public"): Promise<boolean | null> {
  const [row] = await sql<{ valid: boolean }[]>`
    select i.indisvalid and i.indisready as valid from pg_index i
    join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = ${name}`;
  return row ? row.valid : null;
}

export async function tableExists(sql: postgres.Sql, qualified: string): Promise<boolean> {
  const [row] = await sql<{ exists: boolean }[]>`select to_regclass(${qualified}) is not null as exists`;
  return row!.exists;
}

/** Sessions holding an advisory lock in this database (the executor's apply lock is one). */
export async function advisoryLockHolders(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_locks
    where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`;
  return rows.map((r) => r.pid);
}

export async function drizzleRows(sql: postgres.Sql): Promise<{ id: number; hash: string; createdAt: number }[]> {
  const rows = await sql<{ id: number; hash: string; created_at: string }[]>`select id, hash, created_at from drizzle.__drizzle_migrations order by id`;
  return rows.map((r) => ({ id: r.id, hash: r.hash, createdAt: Number(r.created_at) }));
}

export async function historyRows(sql: postgres.Sql): Promise<{ tag: string; direction: string; runId: string; actor: string }[]> {
  if (!(await tableExists(sql, "migration_console.history"))) return [];
  return sql<{ tag: string; direction: string; runId: string; actor: string }[]>`
    select tag, direction, run_id as "runId", actor from migration_console.history order by id`;
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns how long it took, or null on timeout. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return null;
}
