import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaFingerprint, snapshotSchema } from "../../lib/plan/schema-snapshot";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";
import { applyFile, migrateUp, migrationFile, readJournal } from "./migration-files";

const journal = readJournal();

describe("migration files", () => {
  it("has an up and a down file for every journal entry, and nothing else", () => {
    const expected = journal.flatMap((e) => [`${e.tag}.sql`, `${e.tag}.down.sql`]).sort();
    const actual = fs
      .readdirSync(migrationFile("x", "up").replace(/x\.sql$/, ""))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(actual).toEqual(expected);
  });

  it("keeps the journal's `when` strictly increasing (drizzle decides what is pending by it)", () => {
    for (let i = 1; i < journal.length; i++) expect(journal[i]!.when).toBeGreaterThan(journal[i - 1]!.when);
  });
});

describe("each migration rolls back to exactly the state before it (PostgreSQL 18)", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase({ server: 18, prefix: "rollback" });
  });
  afterAll(async () => db?.drop());

  // Sequential on purpose: each step starts from the state the previous one left.
  for (const entry of journal) {
    it(`${entry.tag}: up, down restores the snapshot, up again`, async () => {
      const before = await snapshotSchema(db.sql);
      await applyFile(db.sql, migrationFile(entry.tag, "up"));
      const applied = await snapshotSchema(db.sql);
      expect(schemaFingerprint(applied)).not.toBe(schemaFingerprint(before));

      await applyFile(db.sql, migrationFile(entry.tag, "down"));
      expect(await snapshotSchema(db.sql)).toEqual(before);

      await applyFile(db.sql, migrationFile(entry.tag, "up"));
      expect(await snapshotSchema(db.sql)).toEqual(applied);
    });
  }
});

describe.each([18, 15] as const)("the whole history on PostgreSQL %i", (server) => {
  let db: TestDatabase;
  beforeAll(async () => {
    if (hasServer(server)) db = await freshDatabase({ server, prefix: "history" });
  });
  afterAll(async () => db?.drop());

  it.runIf(hasServer(server))("applies in journal order and leaves no invalid index", async () => {
    await migrateUp(db.sql);
    const snapshot = await snapshotSchema(db.sql);
    expect(snapshot.indexes.filter((i) => !i.valid || !i.ready)).toEqual([]);
    expect(snapshot.schemas.map((s) => s.name)).toEqual(["audit", "lgpd", "public"]);
  });
});
