/**
 * The lock facts, checked against PostgreSQL itself: each statement runs inside a transaction on a
 * real server, and the modes it holds in pg_locks on tables that existed before must be the ones
 * the analysis predicts. Statements that cannot run in a transaction (CONCURRENTLY, VACUUM) are
 * covered by analyze.test.ts from the documentation instead.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeSql, lockRank, type LockLevel } from "@/lib/migrations";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";

const SCHEMA = `
CREATE SCHEMA s;
CREATE TABLE s.parent (id int PRIMARY KEY, name text, n int);
CREATE TABLE s.parent2 (id int);
CREATE TABLE s.child (id int PRIMARY KEY, parent_id int, note text);
CREATE INDEX child_note_idx ON s.child (note);
ALTER TABLE s.child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES s.parent (id) NOT VALID;
ALTER TABLE s.child ADD CONSTRAINT child_note_check CHECK (note <> '') NOT VALID;
CREATE TABLE s.part (id int, k int) PARTITION BY LIST (k);
CREATE TABLE s.part_1 (id int, k int);
CREATE TABLE s.part_2 PARTITION OF s.part FOR VALUES IN (2);
CREATE VIEW s.v AS SELECT id, name FROM s.parent;
CREATE TABLE s.base (id int);
CREATE TABLE s.heir0 () INHERITS (s.base);
CREATE RULE r1 AS ON UPDATE TO s.v DO INSTEAD NOTHING;
CREATE MATERIALIZED VIEW s.mv AS SELECT id FROM s.parent;
CREATE UNIQUE INDEX mv_id ON s.mv (id);
CREATE SEQUENCE s.seq;
CREATE TYPE s.mood AS ENUM ('calm', 'busy');
CREATE FUNCTION s.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t1 BEFORE INSERT ON s.child FOR EACH ROW EXECUTE FUNCTION s.trg();
CREATE POLICY p1 ON s.child USING (true);
`;

/** Statements that run in a transaction, one per line of the migration-writer's repertoire. */
const CASES: string[] = [
  // Creating
  "CREATE TABLE s.fresh (id int)",
  "CREATE TABLE s.fresh (id int REFERENCES s.parent (id))",
  "CREATE TABLE s.part_3 PARTITION OF s.part FOR VALUES IN (3)",
  "CREATE TABLE s.heir () INHERITS (s.parent2)",
  "CREATE INDEX parent_name_idx ON s.parent (name)",
  "CREATE UNIQUE INDEX parent_name_uq ON s.parent (name)",
  "CREATE VIEW s.v2 AS SELECT * FROM s.parent",
  "CREATE OR REPLACE VIEW s.v AS SELECT id, name, n FROM s.parent",
  "CREATE TRIGGER t2 AFTER UPDATE ON s.child FOR EACH ROW EXECUTE FUNCTION s.trg()",
  "CREATE POLICY p2 ON s.child USING (true)",
  "CREATE STATISTICS s.st ON id, name FROM s.parent",
  "CREATE TYPE s.level AS ENUM ('low', 'high')",
  "ALTER TYPE s.mood ADD VALUE 'tired'",
  // ALTER TABLE
  "ALTER TABLE s.parent ADD COLUMN x int",
  "ALTER TABLE s.parent ADD COLUMN x int REFERENCES s.child (id)",
  "ALTER TABLE s.parent ADD COLUMN g int GENERATED ALWAYS AS (id * 2) STORED",
  "ALTER TABLE s.parent DROP COLUMN n",
  "ALTER TABLE s.parent ALTER COLUMN n TYPE bigint",
  "ALTER TABLE s.parent ALTER COLUMN n SET DEFAULT 0",
  "ALTER TABLE s.parent ALTER COLUMN n DROP DEFAULT",
  "ALTER TABLE s.parent ALTER COLUMN n SET NOT NULL",
  "ALTER TABLE s.parent ALTER COLUMN name DROP NOT NULL",
  "ALTER TABLE s.parent ALTER COLUMN n SET STATISTICS 500",
  "ALTER TABLE s.parent ALTER COLUMN n SET (n_distinct = 10)",
  "ALTER TABLE s.parent ALTER COLUMN name SET STORAGE EXTERNAL",
  "ALTER TABLE s.parent SET (fillfactor = 70)",
  "ALTER TABLE s.parent SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)",
  "ALTER TABLE s.parent RESET (fillfactor)",
  "ALTER TABLE s.parent SET (user_catalog_table = true)",
  "ALTER TABLE s.child ADD CONSTRAINT fk2 FOREIGN KEY (parent_id) REFERENCES s.parent (id) NOT VALID",
  "ALTER TABLE s.child ADD CONSTRAINT fk2 FOREIGN KEY (parent_id) REFERENCES s.parent (id)",
  "ALTER TABLE s.child VALIDATE CONSTRAINT child_parent_fk",
  "ALTER TABLE s.child VALIDATE CONSTRAINT child_note_check",
  "ALTER TABLE s.child ADD CONSTRAINT id_positive CHECK (id > 0) NOT VALID",
  "ALTER TABLE s.parent ADD CONSTRAINT parent_name_key UNIQUE (name)",
  "ALTER TABLE s.child DROP CONSTRAINT child_note_check",
  "ALTER TABLE s.child ALTER CONSTRAINT child_parent_fk DEFERRABLE",
  "ALTER TABLE s.child ENABLE ROW LEVEL SECURITY",
  "ALTER TABLE s.child DISABLE ROW LEVEL SECURITY",
  "ALTER TABLE s.child FORCE ROW LEVEL SECURITY",
  "ALTER TABLE s.child NO FORCE ROW LEVEL SECURITY",
  "ALTER TABLE s.child DISABLE TRIGGER t1",
  "ALTER TABLE s.child ENABLE TRIGGER ALL",
  "ALTER TABLE s.child CLUSTER ON child_pkey",
  "ALTER TABLE s.child REPLICA IDENTITY FULL",
  "ALTER TABLE s.child OWNER TO CURRENT_USER",
  "ALTER TABLE s.parent INHERIT s.parent2",
  "ALTER TABLE s.heir0 NO INHERIT s.base",
  "ALTER TABLE s.part ATTACH PARTITION s.part_1 FOR VALUES IN (1)",
  "ALTER TABLE s.part DETACH PARTITION s.part_2",
  "ALTER TABLE s.parent SET SCHEMA public",
  "ALTER INDEX s.child_note_idx SET (fillfactor = 80)",
  // Renames
  "ALTER TABLE s.parent RENAME TO parent_renamed",
  "ALTER TABLE s.parent RENAME COLUMN name TO full_name",
  "ALTER TABLE s.child RENAME CONSTRAINT child_note_check TO note_check",
  "ALTER INDEX s.child_note_idx RENAME TO child_note_idx2",
  "ALTER POLICY p1 ON s.child RENAME TO p9",
  "ALTER TRIGGER t1 ON s.child RENAME TO t9",
  // Policies and comments
  "ALTER POLICY p1 ON s.child USING (false)",
  "COMMENT ON TABLE s.parent IS 'pacientes'",
  "COMMENT ON COLUMN s.parent.name IS 'nome completo'",
  // Dropping
  "DROP TABLE s.parent2",
  "DROP INDEX s.child_note_idx",
  "DROP TRIGGER t1 ON s.child",
  "DROP POLICY p1 ON s.child",
  "DROP RULE r1 ON s.v",
  "DROP VIEW s.v",
  "DROP MATERIALIZED VIEW s.mv",
  "DROP SEQUENCE s.seq",
  "DROP TYPE s.mood",
  "DROP SCHEMA s CASCADE",
  // Data
  "TRUNCATE s.child",
  "INSERT INTO s.parent (id, name) VALUES (1, 'Ana')",
  "INSERT INTO s.child (id) SELECT id FROM s.parent",
  "UPDATE s.parent SET name = 'Bia'",
  "DELETE FROM s.parent WHERE id = 1",
  "WITH gone AS (DELETE FROM s.child RETURNING parent_id) UPDATE s.parent SET n = 0 WHERE id IN (SELECT parent_id FROM gone)",
  "SELECT * FROM s.parent FOR UPDATE",
  "LOCK TABLE s.parent IN SHARE MODE",
  "LOCK TABLE s.parent",
  // Maintenance that may run in a transaction
  "ANALYZE s.parent",
  "CLUSTER s.child USING child_pkey",
  "REINDEX INDEX s.child_note_idx",
  "REINDEX TABLE s.child",
  "REFRESH MATERIALIZED VIEW s.mv",
  "REFRESH MATERIALIZED VIEW CONCURRENTLY s.mv",
  "ALTER SEQUENCE s.seq RESTART",
  "GRANT SELECT ON s.parent TO PUBLIC",
];

// By oid, not joined to pg_class: a dropped or renamed relation must still be recognised.
/** Where PostgreSQL 15 locks less than the analysis reports (it reports the newest server's behaviour). */
const WEAKER_ON_15: Record<string, LockLevel | null> = {
  "GRANT SELECT ON s.parent TO PUBLIC": null,
};

const LOCKS_HELD = `
  SELECT relation::text AS oid, mode FROM pg_locks
  WHERE pid = pg_backend_pid() AND granted AND relation = ANY($1::oid[])`;

/** pg_locks says "ShareRowExclusiveLock"; the analysis speaks PostgreSQL's SQL names. */
function sqlName(mode: string): LockLevel {
  return mode
    .replace(/Lock$/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toUpperCase() as LockLevel;
}

class Rollback extends Error {}

describe.each([18, 15] as const)("lock levels on PostgreSQL %i", (server) => {
  let db: TestDatabase;
  /** oid → "schema.name" of every relation of the fixture schema, before any statement runs. */
  let existing: Map<string, string>;

  beforeAll(async () => {
    if (!hasServer(server)) return;
    db = await freshDatabase({ server, prefix: "catalog_locks" });
    await db.sql.unsafe(SCHEMA);
    const rows = await db.sql<{ oid: string; name: string }[]>`
      SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 's'`;
    existing = new Map(rows.map((r) => [r.oid, r.name]));
  });
  afterAll(async () => db?.drop());

  it.runIf(hasServer(server)).each(CASES)("%s", async (sql) => {
    const [statement] = await analyzeSql(sql);
    const { analysis } = statement!;
    expect(analysis.transactional).toBe(true);

    let held: { oid: string; mode: string }[] = [];
    await db.sql
      .begin(async (tx) => {
        await tx.unsafe(sql);
        held = await tx.unsafe(LOCKS_HELD, [[...existing.keys()]]);
        throw new Rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Rollback)) throw error;
      });

    const observed = new Map<string, LockLevel>();
    for (const row of held) {
      const key = existing.get(row.oid)!;
      const level = sqlName(row.mode);
      const known = observed.get(key);
      if (!known || lockRank(level) > lockRank(known)) observed.set(key, level);
    }
    const strongestObserved = [...observed.values()].sort((a, b) => lockRank(b) - lockRank(a))[0] ?? null;

    if (server === 15 && sql in WEAKER_ON_15) {
      expect(strongestObserved).toBe(WEAKER_ON_15[sql]);
      return;
    }
    expect(analysis.lockLevel, "strongest lock").toBe(strongestObserved);
    for (const lock of analysis.locks) {
      const key = `${lock.relation.schema}.${lock.relation.name}`;
      expect(observed.get(key), `lock on ${key}`).toBe(lock.level);
    }
  });
});
