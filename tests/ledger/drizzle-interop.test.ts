/**
 * The console and drizzle-kit share one ledger: a target migrated by drizzle's migrator reads as applied,
 * the console continues from there, and drizzle sees the console's work as its own.
 */
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations, readStatus } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { addMigration, drizzleRows, migrationsFolder, removeFixtureFolders, statements, tableExists } from "../executor/support";

async function drizzleMigrate(url: string, migrationsFolder: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.end();
  }
}

describe("a target migrated by drizzle-kit", () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "ledger_interop" });
    dir = migrationsFolder([
      { tag: "0000_clinics", up: statements("CREATE TABLE clinics (id int PRIMARY KEY)") },
      { tag: "0001_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, clinic_id int REFERENCES clinics)", "CREATE INDEX patients_clinic_idx ON patients (clinic_id)") },
    ]);
  });
  afterAll(async () => {
    await db?.drop();
    removeFixtureFolders();
  });

  it("reads as pending without being touched when never migrated: status is read-only", async () => {
    const status = await readStatus(db.url, await loadCatalog(dir));
    expect(status.pending).toEqual(["0000_clinics", "0001_patients"]);
    expect(status.current).toBeNull();
    expect(await tableExists(db.sql, "drizzle.__drizzle_migrations")).toBe(false);
  });

  it("reads as applied (by another tool), and the console applies what came after", async () => {
    await drizzleMigrate(db.url, dir);
    addMigration(dir, { tag: "0002_visits", up: statements("CREATE TABLE visits (id int PRIMARY KEY, patient_id int REFERENCES patients)") });
    const catalog = await loadCatalog(dir);

    const status = await readStatus(db.url, catalog);
    expect(status.migrations.map((m) => [m.tag, m.state, m.appliedBy])).toEqual([
      ["0000_clinics", "applied", null],
      ["0001_patients", "applied", null],
      ["0002_visits", "pending", null],
    ]);

    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    expect(result.migrations).toEqual(["0002_visits"]);
    expect(result.status.migrations.map((m) => m.appliedBy)).toEqual([null, null, "ana@clinic.example"]);
  });

  it("is left alone by drizzle's migrator after the console applied", async () => {
    const before = await drizzleRows(db.sql);
    expect(before).toHaveLength(3);
    await drizzleMigrate(db.url, dir);
    expect(await drizzleRows(db.sql)).toEqual(before);
  });
});
