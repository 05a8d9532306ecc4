/**
 * Backups in the cases a migration author writes without thinking of the backup: rows a DELETE
 * removes through foreign keys, a rollback that re-creates a table differently, names resolved
 * through a search_path or renamed earlier in the script, columns dropped with their type. In each
 * one every destroyed value must come back, or the rollback must say it did not and keep the copy.
 */
import { afterAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations, listBackups, rollbackMigrations } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { migrationsFolder, removeFixtureFolders, statements, tableExists } from "./support";

const opened: TestDatabase[] = [];
afterAll(async () => {
  removeFixtureFolders();
  await Promise.all(opened.map((db) => db.drop()));
});

/** A target with `setup` applied (0000) and `change` pending (0001, with its rollback `down`). */
async function target(prefix: string, setup: string[], change: string[], down: string[]) {
  const db = await freshDatabase({ prefix });
  opened.push(db);
  const catalog = await loadCatalog(migrationsFolder([{ tag: "0000_setup", up: statements(...setup) }, { tag: "0001_change", up: statements(...change), down: statements(...down) }]));
  await applyMigrations({ url: db.url, catalog, actor: "ana", to: "0000_setup" });
  return {
    db,
    apply: () => applyMigrations({ url: db.url, catalog, actor: "ana" }),
    rollback: () => rollbackMigrations({ url: db.url, catalog, actor: "ana", to: "0000_setup" }),
  };
}

describe("a rollback that re-creates a dropped table without one of its columns", () => {
  it("does not report the table restored nor drop the copy that still holds that column", async () => {
    const t = await target(
      "edge_lacks",
      ["CREATE TABLE notes (id int PRIMARY KEY, body text, diagnosis text)", "INSERT INTO notes SELECT g, 'b' || g, 'd' || g FROM generate_series(1, 20) g"],
      ["DROP TABLE notes"],
      ["CREATE TABLE notes (id int PRIMARY KEY, body text)"],
    );
    await t.apply();
    const rolled = await t.rollback();
    expect(rolled.backups.restored).toEqual([]);
    expect(rolled.backups.notRestored).toEqual([expect.objectContaining({ table: "public.notes", reason: expect.stringMatching(/diagnosis/) })]);
    const [record] = await listBackups(t.db.sql);
    expect(record!.state).toBe("verified");
    const copy = await t.db.sql.unsafe(`select id, diagnosis from migration_console_backup."${record!.backupTable}" order by id`);
    expect(copy).toHaveLength(20);
    expect(copy[0]).toEqual({ id: 1, diagnosis: "d1" });
  });
});
