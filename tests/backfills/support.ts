/**
 * The backfill tests' table, created by a migration like any real table: a copy of db/migrations with
 * one more migration (bf_items, with a trigger that counts every update of a row), so rehearsals on
 * the shadow find it too. The fixtures in ./fixtures/backfills walk it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import type { TestConsole } from "../support/console";

const root = path.resolve(import.meta.dirname, "../..");
export const BACKFILL_FIXTURES = path.join(import.meta.dirname, "fixtures/backfills");

const ITEMS_SQL = `CREATE TABLE public.bf_items (id bigint PRIMARY KEY, value int NOT NULL, done boolean NOT NULL DEFAULT false, note text, touched int NOT NULL DEFAULT 0);
--> statement-breakpoint
CREATE FUNCTION public.bf_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$;
--> statement-breakpoint
CREATE TRIGGER bf_count BEFORE UPDATE ON public.bf_items FOR EACH ROW EXECUTE FUNCTION public.bf_count();
`;

/**
 * Points the console at the migrations + bf_items and the fixture backfills, and migrates `local`.
 * `extra`: more statements for the same migration (its down drops them with `extraDown`).
 */
export async function useItemsTable(c: TestConsole, extra = "", extraDown = ""): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bf-migrations-"));
  fs.cpSync(path.join(root, "db/migrations"), dir, { recursive: true });
  const journalFile = path.join(dir, "meta/_journal.json");
  const journal = JSON.parse(fs.readFileSync(journalFile, "utf8")) as { entries: { idx: number; when: number; tag: string }[] };
  const last = journal.entries.at(-1)!;
  const tag = `${String(last.idx + 1).padStart(4, "0")}_bf_items`;
  journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1000, tag });
  fs.writeFileSync(journalFile, JSON.stringify(journal, null, 2));
  fs.writeFileSync(path.join(dir, `${tag}.sql`), extra ? `${ITEMS_SQL}--> statement-breakpoint\n${extra}\n` : ITEMS_SQL);
  fs.writeFileSync(path.join(dir, `${tag}.down.sql`), `${extraDown ? `${extraDown}\n--> statement-breakpoint\n` : ""}DROP TABLE public.bf_items;\n--> statement-breakpoint\nDROP FUNCTION public.bf_count();\n`);
  const catalog = await loadCatalog(dir);
  c.deps.catalog = async () => catalog;
  process.env.BACKFILL_MIGRATIONS_DIR = dir; // for worker processes the tests start
  c.deps.backfillsDir = BACKFILL_FIXTURES;
  await applyMigrations({ url: c.targets.local!.url, catalog, to: tag, actor: "test-setup" });
}

/** Polls `read` until `ok` holds; fails naming `what` and the last value after `timeoutMs`. */
export async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
