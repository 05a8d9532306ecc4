import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations, readStatus, rollbackMigrations } from "../../lib/executor";
import { snapshotSchema, type SchemaSnapshot } from "../../lib/introspect/schema-snapshot";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";
import { drizzleRows, historyRows, invalidIndexes, MIGRATIONS_DIR } from "./support";

/** What drizzle's migrator would store, computed from the files themselves rather than from lib/migrations. */
const journal = (JSON.parse(fs.readFileSync(path.join(MIGRATIONS_DIR, "meta/_journal.json"), "utf8")) as { entries: { tag: string; when: number }[] }).entries;
const expectedLedger = journal.map((e) => ({
  hash: createHash("sha256").update(fs.readFileSync(path.join(MIGRATIONS_DIR, `${e.tag}.sql`)).toString()).digest("hex"),
  createdAt: e.when,
}));
const tags = journal.map((e) => e.tag);
const MIDPOINT = "0005_telemedicine_and_audit";
const afterMidpoint = tags.slice(tags.indexOf(MIDPOINT) + 1);

describe.each([18, 15] as const)("the whole history through the executor on PostgreSQL %i", (server) => {
  let db: TestDatabase;
  let catalog: Catalog;
  const snapshots: Record<"empty" | "midpoint" | "latest", SchemaSnapshot | null> = { empty: null, midpoint: null, latest: null };

  beforeAll(async () => {
    if (!hasServer(server)) return;
    db = await freshDatabase({ server, prefix: `exec_history${server}` });
    catalog = await loadCatalog(MIGRATIONS_DIR);
  });
  afterAll(async () => db?.drop());

  // Sequential: each step starts from the state the previous one left.
  it.runIf(hasServer(server))("applies up to a chosen tag, then the rest; everything is applied and nothing pending", async () => {
    snapshots.empty = await snapshotSchema(db.sql);

    const first = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example", to: MIDPOINT });
    expect(first.migrations).toEqual(tags.slice(0, tags.indexOf(MIDPOINT) + 1));
    expect(first.status.current).toBe(MIDPOINT);
    expect(first.status.pending).toEqual(afterMidpoint);
    snapshots.midpoint = await snapshotSchema(db.sql);

    const rest = await applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" });
    expect(rest.migrations).toEqual(afterMidpoint);
    snapshots.latest = await snapshotSchema(db.sql);

    const status = await readStatus(db.url, catalog);
    expect(status.migrations.map((m) => [m.tag, m.state])).toEqual(tags.map((t) => [t, "applied"]));
    expect(status.pending).toEqual([]);
    expect(status.unknown).toEqual([]);
    expect(status.current).toBe(tags.at(-1));
    expect(status.migrations.every((m) => m.appliedBy === "ana@clinic.example" && m.appliedAt instanceof Date)).toBe(true);
    expect(await invalidIndexes(db.sql)).toEqual([]);
    const concurrentlyBuilt = catalog.migrations.flatMap((m) => m.statements.flatMap((s) => s.analysis.concurrentIndex?.name ?? []));
    expect(concurrentlyBuilt.length).toBeGreaterThan(0);
    const built = new Map(snapshots.latest.indexes.map((i) => [i.name, i]));
    expect(concurrentlyBuilt.filter((name) => !(built.get(name)?.valid && built.get(name)?.ready))).toEqual([]);
  });

  it.runIf(hasServer(server))("records drizzle's own hash and created_at, so drizzle's migrator finds nothing to do", async () => {
    const rows = await drizzleRows(db.sql);
    expect(rows.map(({ hash, createdAt }) => ({ hash, createdAt }))).toEqual(expectedLedger);

    // Safe only because nothing is pending: drizzle would run 0008's CONCURRENTLY builds in one transaction.
    const client = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR });
    } finally {
      await client.end();
    }
    expect(await drizzleRows(db.sql)).toEqual(rows);
    expect(await snapshotSchema(db.sql)).toEqual(snapshots.latest);
  });

  it.runIf(hasServer(server))("rolls back to an earlier tag, restoring that schema exactly, and re-applies", async () => {
    const back = await rollbackMigrations({ url: db.url, catalog, actor: "bruno@clinic.example", to: MIDPOINT });
    expect(back.migrations).toEqual([...afterMidpoint].reverse());
    expect(back.status.current).toBe(MIDPOINT);
    expect(back.status.pending).toEqual(afterMidpoint);
    expect(await snapshotSchema(db.sql)).toEqual(snapshots.midpoint);
    expect((await drizzleRows(db.sql)).map((r) => r.createdAt)).toEqual(expectedLedger.slice(0, tags.indexOf(MIDPOINT) + 1).map((e) => e.createdAt));

    const again = await applyMigrations({ url: db.url, catalog, actor: "bruno@clinic.example" });
    expect(again.migrations).toEqual(afterMidpoint);
    expect(again.status.pending).toEqual([]);
    expect(await snapshotSchema(db.sql)).toEqual(snapshots.latest);
    expect((await drizzleRows(db.sql)).map(({ hash, createdAt }) => ({ hash, createdAt }))).toEqual(expectedLedger);
  });

  it.runIf(hasServer(server))("rolls back everything to the empty database, keeping the history of who did what", async () => {
    const all = await rollbackMigrations({ url: db.url, catalog, actor: "carla@clinic.example", to: null });
    expect(all.migrations).toEqual([...tags].reverse());
    expect(all.status.current).toBeNull();
    expect(all.status.pending).toEqual(tags);
    expect(await snapshotSchema(db.sql)).toEqual(snapshots.empty);
    expect(await drizzleRows(db.sql)).toEqual([]);

    const history = await historyRows(db.sql);
    const summary = (actor: string, direction: string) => history.filter((h) => h.actor === actor && h.direction === direction).map((h) => h.tag);
    expect(summary("ana@clinic.example", "up")).toEqual(tags);
    expect(summary("bruno@clinic.example", "down")).toEqual([...afterMidpoint].reverse());
    expect(summary("bruno@clinic.example", "up")).toEqual(afterMidpoint);
    expect(summary("carla@clinic.example", "down")).toEqual([...tags].reverse());
  });
});
