/**
 * Test-local access to db/migrations: the journal, the up/down files, and a naive applier that runs each
 * `--> statement-breakpoint` chunk on its own, outside any explicit transaction (so CREATE INDEX
 * CONCURRENTLY works). The console's real executor replaces this; tests only need it to be faithful.
 */
import fs from "node:fs";
import path from "node:path";
import type postgres from "postgres";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../db/migrations");
export const BREAKPOINT = "--> statement-breakpoint";

export interface JournalEntry {
  idx: number;
  version: string;
  when: number;
  tag: string;
  breakpoints: boolean;
}

export function readJournal(dir = MIGRATIONS_DIR): JournalEntry[] {
  const journal = JSON.parse(fs.readFileSync(path.join(dir, "meta/_journal.json"), "utf8")) as { entries: JournalEntry[] };
  return journal.entries;
}

export function migrationFile(tag: string, direction: "up" | "down", dir = MIGRATIONS_DIR): string {
  return path.join(dir, direction === "up" ? `${tag}.sql` : `${tag}.down.sql`);
}

export function splitStatements(text: string): string[] {
  return text
    .split(BREAKPOINT)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.length > 0);
}

export async function applyFile(sql: postgres.Sql, file: string): Promise<void> {
  for (const chunk of splitStatements(fs.readFileSync(file, "utf8"))) {
    try {
      await sql.unsafe(chunk);
    } catch (error) {
      throw new Error(`${path.basename(file)}: ${(error as Error).message}\n--- in ---\n${chunk}`, { cause: error });
    }
  }
}

/** Applies every migration up to and including `lastTag` (all of them by default). */
export async function migrateUp(sql: postgres.Sql, lastTag?: string): Promise<void> {
  const entries = readJournal();
  if (lastTag && !entries.some((e) => e.tag === lastTag)) throw new Error(`No migration tagged ${lastTag}`);
  for (const entry of entries) {
    await applyFile(sql, migrationFile(entry.tag, "up"));
    if (entry.tag === lastTag) return;
  }
}
