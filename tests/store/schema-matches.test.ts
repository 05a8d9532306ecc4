/**
 * The store's migrations are partly written by hand (0003–0009 have no drizzle-kit snapshot), while
 * every query goes through the Drizzle tables in lib/store/schema. This checks the two agree on a
 * real database: each table, column (type, NOT NULL, default), primary key, unique constraint,
 * foreign key and index the Drizzle code declares exists as declared once the migrations ran.
 * A column added to the code without its migration (or one a migration spells differently) fails
 * here instead of as a runtime error on a user's page.
 */
import { is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeTables } from "../../db/schema/expectations";
import { snapshotSchema, type SchemaSnapshot } from "../../lib/introspect/schema-snapshot";
import * as storeSchema from "../../lib/store/schema";
import { migrateStore } from "../../lib/store/migrate";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { STORE_MIGRATIONS } from "../support/store";

/** Drizzle's spelling of a type as format_type prints it: serials are integers with a sequence default. */
function asPostgresPrintsIt(type: string): string {
  const serial: Record<string, string> = { smallserial: "smallint", serial: "integer", bigserial: "bigint" };
  const bare = type.replace(/^public\./, "").replace(/^(\w+) \(/, "$1(");
  return serial[bare] ?? bare;
}

const tables = describeTables(Object.values(storeSchema).filter((v): v is PgTable => is(v, PgTable)));
let db: TestDatabase;
let live: SchemaSnapshot;

beforeAll(async () => {
  db = await freshDatabase({ prefix: "store_schema" });
  await migrateStore(db.url, STORE_MIGRATIONS);
  live = await snapshotSchema(db.sql, [...new Set(tables.map((t) => t.schema))]);
});
afterAll(async () => db?.drop());

it("declares the store's tables", () => {
  expect(tables.map((t) => t.qualifiedName)).toEqual(expect.arrayContaining(["public.deployments", "public.runs", "public.run_events", "public.audit_events", "public.users"]));
});

it("every column the Drizzle code declares exists with its type, NOT NULL and default", () => {
  const mismatches: string[] = [];
  for (const t of tables) {
    if (!live.tables.some((l) => l.schema === t.schema && l.name === t.name)) {
      mismatches.push(`${t.qualifiedName}: table missing`);
      continue;
    }
    for (const c of t.columns) {
      const col = live.columns.find((l) => l.schema === t.schema && l.table === t.name && l.name === c.name);
      if (!col) {
        mismatches.push(`${t.qualifiedName}.${c.name}: column missing`);
        continue;
      }
      const type = col.type.replace(/^public\./, "");
      const declared = asPostgresPrintsIt(c.type);
      if (type !== declared) mismatches.push(`${t.qualifiedName}.${c.name}: ${type} in the database, ${declared} in the code`);
      if (col.notNull !== c.notNull) mismatches.push(`${t.qualifiedName}.${c.name}: ${col.notNull ? "NOT NULL" : "nullable"} in the database, ${c.notNull ? "NOT NULL" : "nullable"} in the code`);
      const hasDefault = col.default !== null || col.identity !== null;
      if (c.hasDefault && !hasDefault) mismatches.push(`${t.qualifiedName}.${c.name}: no default in the database, one in the code`);
    }
  }
  expect(mismatches).toEqual([]);
});

it("every primary key, unique constraint, foreign key and index the Drizzle code names exists", () => {
  const missing: string[] = [];
  for (const t of tables) {
    const constraints = live.constraints.filter((l) => l.schema === t.schema && l.table === t.name);
    const pk = constraints.find((l) => l.type === "primary_key");
    if (t.primaryKey.length > 0 && !pk) missing.push(`${t.qualifiedName}: primary key`);
    for (const name of t.uniqueConstraints) {
      const asConstraint = constraints.some((l) => l.name === name);
      const asIndex = live.indexes.some((i) => i.schema === t.schema && i.table === t.name && i.name === name && i.unique);
      if (!asConstraint && !asIndex) missing.push(`${t.qualifiedName}: unique ${name}`);
    }
    for (const name of t.foreignKeys) if (!constraints.some((l) => l.name === name && l.type === "foreign_key")) missing.push(`${t.qualifiedName}: foreign key ${name}`);
    for (const name of t.indexes) if (!live.indexes.some((i) => i.schema === t.schema && i.table === t.name && i.name === name)) missing.push(`${t.qualifiedName}: index ${name}`);
  }
  expect(missing).toEqual([]);
});
