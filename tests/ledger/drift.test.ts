/**
 * The target's ledger against the files: an edited applied file, a migration merged late with an older
 * `when`, a ledger row this checkout does not know. Status must show each, and apply must refuse until
 * the operator says otherwise.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations, readStatus, rollbackMigrations } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { addMigration, BASE_WHEN, drizzleRows, failure, migrationsFolder, recorder, removeFixtureFolders, statements, tableExists, truncateJournal } from "../executor/support";

const FIXTURE = [
  { tag: "0000_clinics", up: statements("CREATE TABLE clinics (id int PRIMARY KEY, name text NOT NULL)"), down: "DROP TABLE clinics;\n" },
  { tag: "0001_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, clinic_id int REFERENCES clinics)"), down: "DROP TABLE patients;\n" },
  { tag: "0002_visits", up: statements("CREATE TABLE visits (id int PRIMARY KEY, patient_id int REFERENCES patients)"), down: "DROP TABLE visits;\n" },
];

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file).toString()).digest("hex");

afterAll(() => removeFixtureFolders());

describe("an applied migration file edited afterwards", () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "ledger_checksum" });
    dir = migrationsFolder(FIXTURE.slice(0, 2));
    await applyMigrations({ url: db.url, catalog: await loadCatalog(dir), actor: "ana@clinic.example" });
    fs.appendFileSync(path.join(dir, "0001_patients.sql"), "-- reviewed by compliance\n");
    addMigration(dir, FIXTURE[2]!);
  });
  afterAll(async () => db?.drop());

  it("shows as checksum_mismatch, with both hashes", async () => {
    const catalog = await loadCatalog(dir);
    const status = await readStatus(db.url, catalog);
    expect(status.migrations.map((m) => [m.tag, m.state])).toEqual([
      ["0000_clinics", "applied"],
      ["0001_patients", "checksum_mismatch"],
      ["0002_visits", "pending"],
    ]);
    const edited = status.migrations[1]!;
    expect(edited.checksum).toBe(sha256(path.join(dir, "0001_patients.sql")));
    expect(edited.appliedHash).not.toBe(edited.checksum);
    expect(edited.explanation).toMatch(/edited/);
    expect(status.problems.checksumMismatch).toEqual(["0001_patients"]);
  });

  it("refuses to apply or roll back, changing nothing", async () => {
    const catalog = await loadCatalog(dir);
    const before = await drizzleRows(db.sql);

    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.code).toBe("checksum_mismatch");
    expect(error.details.tags).toEqual(["0001_patients"]);
    expect(error.message).toMatch(/0001_patients/);

    const rollback = await failure(rollbackMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: null }));
    expect(rollback.code).toBe("checksum_mismatch");

    expect(await drizzleRows(db.sql)).toEqual(before);
    expect(await tableExists(db.sql, "public.visits")).toBe(false);
  });

  it("accepts the new checksum when told to, records it, and applies what is pending", async () => {
    const catalog = await loadCatalog(dir);
    const { onEvent, of } = recorder();
    const result = await applyMigrations({ url: db.url, catalog, actor: "bruno@clinic.example", acceptChecksums: true, onEvent });

    const newHash = sha256(path.join(dir, "0001_patients.sql"));
    expect(of("checksum_accepted")).toEqual([expect.objectContaining({ tag: "0001_patients", to: newHash })]);
    expect(result.migrations).toEqual(["0002_visits"]);
    expect(result.status.migrations.map((m) => m.state)).toEqual(["applied", "applied", "applied"]);
    expect((await drizzleRows(db.sql))[1]!.hash).toBe(newHash);
    // Accepting a checksum does not erase who applied the migration and when.
    expect(result.status.migrations[1]).toMatchObject({ appliedBy: "ana@clinic.example", appliedAt: expect.any(Date) });
  });
});

describe("a migration merged after a newer one was applied (older `when`)", () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "ledger_order" });
    dir = migrationsFolder([
      { ...FIXTURE[0]!, when: BASE_WHEN },
      { ...FIXTURE[1]!, when: BASE_WHEN + 2000 },
    ]);
    await applyMigrations({ url: db.url, catalog: await loadCatalog(dir), actor: "ana@clinic.example" });
    addMigration(dir, { tag: "0002_late_branch", when: BASE_WHEN + 1000, up: statements("CREATE TABLE referrals (id int PRIMARY KEY)") });
  });
  afterAll(async () => db?.drop());

  it("shows as out_of_order, while drizzle's own migrator would skip it silently", async () => {
    const catalog = await loadCatalog(dir);
    const status = await readStatus(db.url, catalog);
    expect(status.migrations.map((m) => [m.tag, m.state])).toEqual([
      ["0000_clinics", "applied"],
      ["0001_patients", "applied"],
      ["0002_late_branch", "out_of_order"],
    ]);
    expect(status.pending).toEqual([]);
    expect(status.problems.outOfOrder).toEqual(["0002_late_branch"]);

    const client = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await migrate(drizzle(client), { migrationsFolder: dir });
    } finally {
      await client.end();
    }
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);
  });

  it("is refused by apply, then applied with allowOutOfOrder", async () => {
    const catalog = await loadCatalog(dir);
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.code).toBe("out_of_order");
    expect(error.details.tags).toEqual(["0002_late_branch"]);
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);

    const result = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", allowOutOfOrder: true });
    expect(result.migrations).toEqual(["0002_late_branch"]);
    expect(result.status.migrations.map((m) => m.state)).toEqual(["applied", "applied", "applied"]);
    expect(await tableExists(db.sql, "public.referrals")).toBe(true);
  });
});

describe("a ledger row that is not in the files (this checkout is behind the target)", () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "ledger_unknown" });
    dir = migrationsFolder(FIXTURE);
    await applyMigrations({ url: db.url, catalog: await loadCatalog(dir), actor: "ana@clinic.example" });
    truncateJournal(dir, 2);
  });
  afterAll(async () => db?.drop());

  it("is listed by status with its tag, and apply is refused with unknown_in_ledger", async () => {
    const catalog = await loadCatalog(dir);
    const status = await readStatus(db.url, catalog);
    expect(status.migrations.map((m) => m.state)).toEqual(["applied", "applied"]);
    expect(status.unknown).toEqual([
      expect.objectContaining({ tag: "0002_visits", createdAt: BASE_WHEN + 2000, hash: expect.stringMatching(/^[0-9a-f]{64}$/) }),
    ]);
    expect(status.problems.unknown).toBe(1);

    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.code).toBe("unknown_in_ledger");
    expect(error.message).toContain("0002_visits");

    const allowed = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", allowUnknown: true });
    expect(allowed.migrations).toEqual([]);
  });
});
