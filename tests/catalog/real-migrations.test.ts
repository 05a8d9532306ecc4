/** The project's own migrations (db/migrations) load cleanly and can be rolled back. */
import fs from "node:fs";
import path from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "@/lib/migrations";

const dir = path.resolve(__dirname, "../../db/migrations");
const present = fs.existsSync(path.join(dir, "meta", "_journal.json"));

describe.runIf(present)("db/migrations", () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog(dir);
  });

  it("loads every migration without error or warning", () => {
    expect(catalog.migrations.length).toBeGreaterThan(0);
    expect(catalog.warnings).toEqual([]);
    for (const m of catalog.migrations) expect(m.statements.length, m.tag).toBeGreaterThan(0);
  });

  it("has checksums equal to drizzle's", () => {
    const drizzle = readMigrationFiles({ migrationsFolder: dir });
    expect(catalog.migrations.map((m) => m.checksum)).toEqual(drizzle.map((d) => d.hash));
  });

  it("has a rollback script for every migration", () => {
    const withoutDown = catalog.migrations.filter((m) => m.down === null || m.down.statements.length === 0).map((m) => m.tag);
    expect(withoutDown).toEqual([]);
  });

  it("names its concurrent indexes so a failed build can be found", () => {
    const unnamed = catalog.migrations.flatMap((m) =>
      m.statements.filter((s) => s.analysis.concurrentIndex && !s.analysis.concurrentIndex.name).map((s) => `${m.tag}:${s.line}`),
    );
    expect(unnamed).toEqual([]);
  });
});
