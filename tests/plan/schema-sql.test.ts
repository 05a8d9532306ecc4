/**
 * "Schema before the run" as SQL, generated from the catalog snapshot without pg_dump: it reads as DDL,
 * and replayed on an empty database it rebuilds the same catalog, on PostgreSQL 18 and 15.
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../lib/executor";
import { diffSnapshots } from "../../lib/plan/diff";
import { snapshotSchema } from "../../lib/plan/schema-snapshot";
import { snapshotToSql } from "../../lib/plan/schema-sql";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";
import { realCatalog } from "./support";

const opened: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(opened.map((db) => db.drop()));
});

describe.each([18, 15] as const)("the schema of the fully migrated target as SQL on PostgreSQL %i", (server) => {
  it.runIf(hasServer(server))("is readable DDL that rebuilds the same catalog on an empty database", async () => {
    const source = await freshDatabase({ server, prefix: `schema_sql${server}` });
    const replay = await freshDatabase({ server, prefix: `schema_sql_replay${server}` });
    opened.push(source, replay);
    await applyMigrations({ url: source.url, catalog: await realCatalog(), actor: "test" });
    const before = await snapshotSchema(source.sql);
    const text = snapshotToSql(before, ["Schema of local right before deployment #1 ran."]);

    expect(text).toMatch(/^-- Schema of local right before deployment #1 ran\./);
    expect(text).toMatch(/CREATE TABLE public\.patients \(\n {2}id uuid DEFAULT gen_random_uuid\(\) NOT NULL,/);
    expect(text).toMatch(/ALTER TABLE public\.patients ENABLE ROW LEVEL SECURITY;/);
    expect(text).toMatch(/CREATE POLICY patients_tenant_select ON public\.patients AS PERMISSIVE FOR SELECT TO app_user USING/);

    const sql = postgres(replay.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(text);
      const after = await snapshotSchema(sql);
      const diff = diffSnapshots(before, after);
      expect(diff.changes.map((c) => `${c.change} ${c.section} ${c.key} ${c.fields.join(",")}`)).toEqual([]);
    } finally {
      await sql.end();
    }
  });
});
