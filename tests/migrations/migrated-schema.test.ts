/**
 * A fully migrated database holds exactly what db/schema describes (expectations.ts), on 18 and on 15:
 * the migrations and the drizzle code cannot drift apart unnoticed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaExpectations } from "../../db/schema/expectations";
import { snapshotSchema, type SchemaSnapshot } from "../../lib/introspect/schema-snapshot";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";
import { migrateUp } from "./migration-files";

describe.each([18, 15] as const)("migrated schema on PostgreSQL %i matches db/schema", (server) => {
  let db: TestDatabase;
  let snap: SchemaSnapshot;
  beforeAll(async () => {
    if (!hasServer(server)) return;
    db = await freshDatabase({ server, prefix: "expect" });
    await migrateUp(db.sql);
    snap = await snapshotSchema(db.sql);
  });
  afterAll(async () => db?.drop());

  const at = (schema: string, table: string) => <T extends { schema: string; table: string }>(e: T) =>
    e.schema === schema && e.table === table;

  it.runIf(hasServer(server))("has the schemas, extensions and server version", async () => {
    expect(snap.schemas.map((s) => s.name)).toEqual(expect.arrayContaining([...schemaExpectations.schemas]));
    expect(snap.extensions.map((e) => e.name)).toEqual(expect.arrayContaining([...schemaExpectations.extensions]));
    const [row] = await db.sql<{ v: number }[]>`select current_setting('server_version_num')::int as v`;
    expect(row!.v).toBeGreaterThanOrEqual(schemaExpectations.minServerVersionNum);
  });

  it.runIf(hasServer(server))("has every table with RLS enabled and forced, and exactly its columns", () => {
    expect(snap.tables.map((t) => `${t.schema}.${t.name}`).sort()).toEqual(
      schemaExpectations.tables.map((t) => t.qualifiedName).sort(),
    );
    for (const t of schemaExpectations.tables) {
      const table = snap.tables.find((x) => x.schema === t.schema && x.name === t.name)!;
      expect({ rls: table.rlsEnabled, forced: table.rlsForced }, t.qualifiedName).toEqual({ rls: true, forced: true });
      const actual = snap.columns.filter(at(t.schema, t.name)).map((c) => ({
        name: c.name,
        type: c.type,
        notNull: c.notNull,
        hasDefault: c.default !== null,
      }));
      const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
      expect(actual.sort(byName), t.qualifiedName).toEqual([...t.columns].sort(byName));
    }
  });

  it.runIf(hasServer(server))("has the declared policies, with the tenant predicate, and no others", () => {
    for (const t of schemaExpectations.tables) {
      const actual = snap.policies.filter(at(t.schema, t.name));
      expect(actual.map((p) => p.name).sort(), t.qualifiedName).toEqual(t.policies.map((p) => p.name).sort());
      for (const expected of t.policies) {
        const p = actual.find((x) => x.name === expected.name)!;
        expect(p.command).toBe(expected.command);
        expect(p.roles).toEqual(expected.roles);
        expect(p.permissive).toBe(true);
        for (const expr of [p.using, p.withCheck].filter((e): e is string => e !== null)) {
          expect(expr).toContain(`${t.tenantKey} = `);
          expect(expr).toContain(schemaExpectations.contextSettings.clinicId);
        }
        expect(p.using !== null).toBe(expected.hasUsing);
        expect(p.withCheck !== null).toBe(expected.hasWithCheck);
      }
      if (t.appendOnly) expect(actual.filter((p) => ["UPDATE", "DELETE", "ALL"].includes(p.command))).toEqual([]);
    }
  });

  it.runIf(hasServer(server))("has every declared constraint and index, all valid", () => {
    for (const t of schemaExpectations.tables) {
      const constraints = new Set(snap.constraints.filter(at(t.schema, t.name)).map((c) => c.name));
      for (const name of [...t.uniqueConstraints, ...t.checks, ...t.foreignKeys]) expect(constraints, name).toContain(name);
      const indexes = snap.indexes.filter(at(t.schema, t.name));
      for (const name of t.indexes) expect(indexes.find((i) => i.name === name && i.valid && i.ready), name).toBeDefined();
    }
    expect(snap.indexes.filter((i) => !i.valid || !i.ready)).toEqual([]);
  });

  it.runIf(hasServer(server))("has the hand-written objects drizzle cannot express", () => {
    for (const c of schemaExpectations.handWritten.constraints) {
      const [schema, table] = c.table.split(".");
      expect(snap.constraints.find((x) => x.schema === schema && x.table === table && x.name === c.name)?.type).toBe(c.type);
    }
    for (const tr of schemaExpectations.handWritten.triggers) {
      const [schema, table] = tr.table.split(".");
      expect(snap.triggers.find((x) => x.schema === schema && x.table === table && x.name === tr.name)?.enabled).toBe("origin");
    }
    expect(snap.functions.map((f) => ({ schema: f.schema, name: f.name, identityArguments: f.identityArguments }))).toEqual(
      expect.arrayContaining(schemaExpectations.handWritten.functions.map((f) => ({ ...f }))),
    );
  });

  it.runIf(hasServer(server))("lets app_user neither bypass RLS nor log in, nor update append-only tables", async () => {
    const [role] = await db.sql<{ rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }[]>`
      select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = ${schemaExpectations.appRole}`;
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: false });
    for (const name of ["audit.audit_logs", "public.consent_records"]) {
      const [schema, table] = name.split(".");
      const granted = snap.privileges
        .filter((p) => p.schema === schema && p.name === table && p.grantee === schemaExpectations.appRole)
        .map((p) => p.privilege)
        .sort();
      expect(granted, name).toEqual(["INSERT", "SELECT"]);
    }
  });
});
