import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  canonicalJson,
  schemaFingerprint,
  SNAPSHOT_KEYS,
  snapshotEntryKey,
  snapshotQuietSchema,
  snapshotSchema,
  type SchemaSnapshot,
  type SnapshotSection,
} from "../../lib/introspect/schema-snapshot";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { migrateUp } from "./migration-files";

/** Snapshots through a client that counts the statements it sends. */
async function countedSnapshot(url: string): Promise<{ snapshot: SchemaSnapshot; queries: number }> {
  let queries = 0;
  const sql = postgres(url, { max: 1, onnotice: () => {}, debug: () => void queries++ });
  try {
    const snapshot = await snapshotSchema(sql);
    return { snapshot, queries };
  } finally {
    await sql.end();
  }
}

describe("snapshotSchema", () => {
  let empty: TestDatabase;
  let migrated: TestDatabase;
  beforeAll(async () => {
    empty = await freshDatabase({ server: 18, prefix: "snap" });
    migrated = await freshDatabase({ server: 18, prefix: "snap" });
    await migrateUp(migrated.sql);
  });
  afterAll(async () => {
    await empty?.drop();
    await migrated?.drop();
  });

  it("sends the same number of queries for an empty and a full schema", async () => {
    const a = await countedSnapshot(empty.url);
    const b = await countedSnapshot(migrated.url);
    expect(b.snapshot.tables.length).toBe(8);
    expect(a.snapshot.tables.length).toBe(0);
    expect(b.queries).toBe(a.queries);
    expect(b.queries).toBeLessThanOrEqual(20);
  });

  it("read in halves on two connections (a database nothing else changes), is the same snapshot", async () => {
    const second = postgres(migrated.url, { max: 1, onnotice: () => {} });
    try {
      // A client with another search_path and interval style: the halves set the print settings too.
      await second.unsafe("set search_path = lgpd, public; set intervalstyle = iso_8601");
      const halves = await snapshotQuietSchema(migrated.sql, second);
      expect(canonicalJson(halves)).toBe(canonicalJson(await snapshotSchema(migrated.sql)));
      expect(halves.tables.length).toBe(8);
      expect(halves.privileges.length).toBeGreaterThan(0);
    } finally {
      await second.end();
    }
  });

  it("is deterministic, sorted by entry key, and JSON-serialisable", async () => {
    const one = await snapshotSchema(migrated.sql);
    const two = await snapshotSchema(migrated.sql);
    expect(canonicalJson(two)).toBe(canonicalJson(one));
    expect(JSON.parse(JSON.stringify(one))).toEqual(one);
    expect(schemaFingerprint(one)).toMatch(/^[0-9a-f]{64}$/);
    for (const section of Object.keys(SNAPSHOT_KEYS) as SnapshotSection[]) {
      const keys = (one[section] as SchemaSnapshot[typeof section][number][]).map((e) => snapshotEntryKey(section, e));
      expect(new Set(keys).size, `${section} keys are unique`).toBe(keys.length);
    }
  });

  it("does not depend on the client's search_path or interval style", async () => {
    const plain = await snapshotSchema(migrated.sql);
    const odd = postgres(migrated.url, {
      max: 1,
      onnotice: () => {},
      connection: { search_path: "lgpd, public", IntervalStyle: "iso_8601" },
    });
    try {
      expect(schemaFingerprint(await snapshotSchema(odd))).toBe(schemaFingerprint(plain));
    } finally {
      await odd.end();
    }
  });

  it("runs inside the caller's transaction, sees its uncommitted changes, and restores its settings", async () => {
    await migrated.sql
      .begin(async (tx) => {
        await tx`set local search_path = lgpd, public`;
        await tx`create table public.scratch (id int)`;
        const snap = await snapshotSchema(tx);
        expect(snap.tables.map((t) => t.name)).toContain("scratch");
        const [row] = await tx`select current_setting('search_path') as p`;
        expect(row!.p).toBe("lgpd, public");
        throw new Error("rollback");
      })
      .catch((e: Error) => expect(e.message).toBe("rollback"));
  });

  it("reports RLS flags, policies, the exclusion constraint, triggers, and leaves extension members out", async () => {
    const snap = await snapshotSchema(migrated.sql);
    expect(snap.tables.find((t) => t.name === "patients")).toMatchObject({ rlsEnabled: true, rlsForced: true });
    expect(snap.policies.find((p) => p.name === "patients_tenant_update")).toMatchObject({
      command: "UPDATE",
      roles: ["app_user"],
    });
    expect(snap.constraints.find((c) => c.name === "appointments_no_professional_overlap")?.definition).toMatch(
      /^EXCLUDE USING gist/,
    );
    expect(snap.triggers.map((t) => t.name)).toEqual(["lgpd_consents_guard_hash", "lgpd_consents_set_hash"]);
    expect(snap.functions.map((f) => f.name)).not.toContain("digest");
    expect(snap.functions.find((f) => f.name === "set_clinic_context")?.definition).toContain("set_config");
    expect(snap.views).toEqual([]);
  });

  it("notices an invalid index and a dropped grant", async () => {
    const before = await snapshotSchema(migrated.sql);
    await migrated.sql`update pg_index set indisvalid = false
      where indexrelid = 'public.appointments_tuss_code_idx'::regclass`;
    await migrated.sql`revoke delete on public.patients from app_user`;
    try {
      const after = await snapshotSchema(migrated.sql);
      expect(schemaFingerprint(after)).not.toBe(schemaFingerprint(before));
      expect(after.indexes.find((i) => i.name === "appointments_tuss_code_idx")?.valid).toBe(false);
      const grants = (s: SchemaSnapshot) =>
        s.privileges.filter((p) => p.name === "patients" && p.grantee === "app_user").map((p) => p.privilege);
      expect(grants(before)).toContain("DELETE");
      expect(grants(after)).not.toContain("DELETE");
    } finally {
      await migrated.sql`update pg_index set indisvalid = true
        where indexrelid = 'public.appointments_tuss_code_idx'::regclass`;
      await migrated.sql`grant delete on public.patients to app_user`;
    }
    expect(await snapshotSchema(migrated.sql)).toEqual(before);
  });

  it("prints every policy as pg_policies does, though tables with the same stored trees are read as one group", async () => {
    // Same trees (the same column numbers and types), different column names; a sub-select and a whole-row
    // reference, which print the table's own name.
    await empty.sql.unsafe(`
      create table public.group_a (id int primary key, clinic_id uuid, note text);
      create table public.group_b (id int primary key, clinic_id uuid, note text);
      create table public.group_c (id int primary key, clinic_id uuid, remark text);
      create policy same on public.group_a using (note = 'x');
      create policy same on public.group_b using (note = 'x');
      create policy same on public.group_c using (remark = 'x');
      create policy nested on public.group_a using (exists (select 1 from public.group_b b where b.id = group_a.id));
      create policy nested on public.group_c using (exists (select 1 from public.group_b b where b.id = group_c.id));
      create policy whole on public.group_a for update using (group_a is not null) with check (id > 0);
      create policy whole on public.group_c for update using (group_c is not null) with check (id > 0);`);
    try {
      const snap = await snapshotSchema(empty.sql);
      // Printed under the snapshot's search_path, so that names come schema-qualified alike.
      const printed = await empty.sql.begin(async (tx) => {
        await tx`set local search_path = pg_catalog`;
        return tx<{ table: string; name: string; using: string | null; withCheck: string | null }[]>`
          select tablename as table, policyname as name, qual as using, with_check as "withCheck" from pg_policies
          where schemaname = 'public' order by tablename collate "C", policyname collate "C"`;
      });
      expect(snap.policies.map((p) => ({ table: p.table, name: p.name, using: p.using, withCheck: p.withCheck }))).toEqual([...printed]);
      expect(snap.policies.find((p) => p.table === "group_c" && p.name === "same")?.using).toBe("(remark = 'x'::text)");
    } finally {
      await empty.sql.unsafe("drop table public.group_a, public.group_b, public.group_c");
    }
  });
});
