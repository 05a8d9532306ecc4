/**
 * "Schema before the run" as SQL, generated from the catalog snapshot without pg_dump: it reads as DDL,
 * and replayed on an empty database it rebuilds the same catalog, on PostgreSQL 18 and 15.
 * What a person reads of a schema: object names without "audit.audit".
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../lib/executor";
import { diffSnapshots, renderSnapshot } from "../../lib/plan/diff";
import { driftObjects, objectName } from "../../lib/plan/drift";
import { snapshotSchema, type SchemaSnapshot } from "../../lib/introspect/schema-snapshot";
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

const snapshot = {
  schemas: [{ name: "audit", owner: "postgres" }],
  extensions: [{ name: "pgcrypto", version: "1.3", schema: "public" }],
  types: [{ schema: "public", name: "consent_status", kind: "enum", labels: ["pending", "given"], baseType: null }],
  tables: [{ schema: "public", name: "patients", kind: "table", owner: "postgres", rlsEnabled: true, rlsForced: true }],
  columns: [
    { schema: "public", table: "patients", name: "id", position: 1, type: "uuid", notNull: true, default: "gen_random_uuid()", identity: null, generated: null, collation: null },
    { schema: "public", table: "patients", name: "cpf", position: 2, type: "text", notNull: true, default: null, identity: null, generated: null, collation: null },
  ],
  constraints: [{ schema: "public", table: "patients", name: "patients_pkey", type: "primary_key", definition: "PRIMARY KEY (id)", validated: true }],
  indexes: [
    { schema: "public", table: "patients", name: "patients_pkey", definition: "CREATE UNIQUE INDEX patients_pkey ON public.patients USING btree (id)", unique: true, primary: true, constraint: "patients_pkey", valid: true, ready: true },
    { schema: "public", table: "patients", name: "patients_cpf_idx", definition: "CREATE INDEX patients_cpf_idx ON public.patients USING btree (cpf)", unique: false, primary: false, constraint: null, valid: false, ready: true },
  ],
  policies: [{ schema: "public", table: "patients", name: "patients_tenant_select", permissive: true, command: "SELECT", roles: ["app_user"], using: "(clinic_id = app.current_clinic_id())", withCheck: null }],
  functions: [],
  triggers: [],
  views: [],
  sequences: [],
  privileges: [{ objectType: "schema", schema: "audit", name: "audit", grantee: "app_user", privilege: "USAGE", grantable: false }],
} as unknown as SchemaSnapshot;

describe("a schema as people read it", () => {
  it("writes a snapshot as readable SQL: tables, RLS, indexes, policies, grants", () => {
    const sql = snapshotToSql(snapshot, ["Schema before deployment #3"]);
    expect(sql).toContain("-- Schema before deployment #3");
    expect(sql).toContain("CREATE TYPE public.consent_status AS ENUM ('pending', 'given');");
    expect(sql).toContain("CREATE TABLE public.patients (\n  id uuid DEFAULT gen_random_uuid() NOT NULL,\n  cpf text NOT NULL\n);");
    expect(sql).toContain("ALTER TABLE public.patients ADD CONSTRAINT patients_pkey PRIMARY KEY (id);");
    expect(sql).toContain("ALTER TABLE public.patients ENABLE ROW LEVEL SECURITY;\nALTER TABLE public.patients FORCE ROW LEVEL SECURITY;");
    // The index behind the primary key is the constraint's: written once.
    expect(sql).not.toContain("CREATE UNIQUE INDEX patients_pkey");
    expect(sql).toContain("CREATE INDEX patients_cpf_idx ON public.patients USING btree (cpf); -- INVALID");
    expect(sql).toContain("CREATE POLICY patients_tenant_select ON public.patients AS PERMISSIVE FOR SELECT TO app_user USING ((clinic_id = app.current_clinic_id()));");
    expect(sql).toContain("GRANT USAGE ON SCHEMA audit TO app_user;");
    expect(sql).not.toMatch(/^\s*[{[]/m);
  });

  it("names a schema once, never as schema.schema", () => {
    expect(renderSnapshot(snapshot)).toContain("grant USAGE on schema audit to app_user");
    expect(renderSnapshot(snapshot)).not.toContain("audit.audit");
    expect(objectName("privileges", snapshot.privileges[0] as never)).toBe("grant USAGE on schema audit to app_user");
    const diff = { changes: [{ section: "schemas" as const, change: "removed" as const, key: "audit", fields: [], before: { name: "audit", owner: "x" }, after: null }], text: "", counts: { added: 0, removed: 1, changed: 0 } };
    expect(driftObjects(diff)).toEqual([{ object: "schema audit", change: "removed", fields: [], group: null }]);
  });
});
