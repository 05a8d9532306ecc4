import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaFingerprint, snapshotSchema } from "../../lib/introspect/schema-snapshot";
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

describe.each([18, 15] as const)("each migration rolls back to exactly the state before it (PostgreSQL %i)", (server) => {
  let db: TestDatabase;
  beforeAll(async () => {
    if (hasServer(server)) db = await freshDatabase({ server, prefix: "rollback" });
  });
  afterAll(async () => db?.drop());

  // Sequential on purpose: each step starts from the state the previous one left.
  for (const entry of journal) {
    it.runIf(hasServer(server))(`${entry.tag}: up, down restores the snapshot, up again`, async () => {
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

  it.runIf(hasServer(server))("then rolls all the way back, in reverse order, to an empty database", async () => {
    const empty = await freshDatabase({ server, prefix: "empty" });
    try {
      for (const entry of [...journal].reverse()) await applyFile(db.sql, migrationFile(entry.tag, "down"));
      expect(await snapshotSchema(db.sql)).toEqual(await snapshotSchema(empty.sql));
    } finally {
      await empty.drop();
    }
  });
});

describe("rolling back row level security on a server shared by several databases", () => {
  const rls = journal.find((e) => e.tag.endsWith("_row_level_security"))!;
  let one: TestDatabase;
  let two: TestDatabase;
  beforeAll(async () => {
    one = await freshDatabase({ server: 18, prefix: "shared" });
    two = await freshDatabase({ server: 18, prefix: "shared" });
    await migrateUp(one.sql, rls.tag);
    await migrateUp(two.sql, rls.tag);
  });
  afterAll(async () => {
    await one?.drop();
    await two?.drop();
  });

  it("keeps app_user and the other database's grants", async () => {
    await applyFile(one.sql, migrationFile(rls.tag, "down"));
    const [role] = await two.sql`select count(*)::int as n from pg_roles where rolname = 'app_user'`;
    expect(role!.n).toBe(1);
    const [grant] = await two.sql`select has_table_privilege('app_user', 'public.patients', 'SELECT') as ok`;
    expect(grant!.ok).toBe(true);
    // And the first database can take the migration again.
    await applyFile(one.sql, migrationFile(rls.tag, "up"));
  });
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
