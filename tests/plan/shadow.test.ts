/**
 * Rehearsals start from a copy of a template per target version instead of replaying the history every
 * time. What a user would notice if that went wrong: a rehearsal on a stale schema (drift that is not
 * there), plans failing when several run at once, or databases piling up on the shadow server.
 */
import fs from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { closeShadowConnections } from "../../lib/plan/shadow";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { copyOfFolder, removeFixtureFolders } from "../executor/support";
import { dedicatedShadowRole, plan } from "./support";

let shadowRole: Awaited<ReturnType<typeof dedicatedShadowRole>>;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  shadowRole = await dedicatedShadowRole("shadow");
});
afterAll(async () => {
  await Promise.all(databases.splice(0).map((db) => db.drop()));
  await shadowRole?.drop();
  removeFixtureFolders();
});

async function targetAt(catalog: Catalog, tag: string): Promise<TestDatabase> {
  const db = await freshDatabase({ prefix: "plan_shadow" });
  databases.push(db);
  await applyMigrations({ url: db.url, catalog, to: tag, actor: "test-setup" });
  return db;
}

/** The real history with one more index in 0006: same tags, different files, a different schema at 0006. */
async function historyWithExtraIndex(): Promise<Catalog> {
  const dir = copyOfFolder();
  fs.appendFileSync(path.join(dir, "0006_appointment_overlap.sql"), `--> statement-breakpoint\nCREATE INDEX "appointments_room_idx" ON "appointments" ("clinic_id", "end_time");\n`);
  return loadCatalog(dir);
}

const templates = async () => (await shadowRole.owned()).filter((d) => d.name.startsWith("shadow_tpl_"));

describe("rehearsals from cached templates", () => {
  it("two histories with the same tags but different files each rehearse on their own schema", async () => {
    const real = await loadCatalog(copyOfFolder());
    const other = await historyWithExtraIndex();
    const [a, b] = await Promise.all([targetAt(real, "0006_appointment_overlap"), targetAt(other, "0006_appointment_overlap")]);

    for (const [target, catalog] of [[a, real], [b, other], [a, real]] as const) {
      const planned = await plan(target, catalog, { shadow: shadowRole.shadow });
      expect(planned.drift.diff?.changes ?? [], `${target.name}`).toEqual([]);
      expect(planned.rehearsal.ok).toBe(true);
    }
    expect(await templates()).toHaveLength(2);
  });

  it("plans that start together at a version nobody planned yet all succeed, and leave one template behind", async () => {
    // A version whose template cannot exist yet: its files differ from every other test's.
    const dir = copyOfFolder();
    fs.appendFileSync(path.join(dir, "0005_telemedicine_and_audit.sql"), `-- ${dir}\n`);
    const catalog = await loadCatalog(dir);
    const target = await targetAt(catalog, "0007_row_level_security");
    const before = await templates();

    const plans = await Promise.all([1, 2, 3].map(() => plan(target, catalog, { shadow: shadowRole.shadow })));
    for (const p of plans) {
      expect(p.rehearsal).toMatchObject({ ok: true, error: null });
      expect(p.drift.drifted).toBe(false);
      expect(p.migrations.map((m) => m.tag)).toEqual(["0008_performance_indexes"]);
    }
    // The spare copy kept for the next rehearsal goes away when the planner lets go of the shadow server.
    await closeShadowConnections();
    const after = await shadowRole.owned();
    expect(after.filter((d) => !d.name.startsWith("shadow_tpl_"))).toEqual([]);
    expect(after.filter((d) => !before.some((b) => b.name === d.name))).toHaveLength(1);
  });

  it("a planner whose template is published by another one in the same instant uses the other's", async () => {
    // Two renames to the same name that both pass PostgreSQL's name check: the second one meets the
    // catalog's unique index instead (23505, not 42P04). Made certain here by holding the other
    // planner's rename open in a transaction until ours waits on it.
    const dir = copyOfFolder();
    fs.appendFileSync(path.join(dir, "0006_appointment_overlap.sql"), `-- ${dir}\n`);
    const catalog = await loadCatalog(dir);
    const target = await targetAt(catalog, "0007_row_level_security");
    const before = new Set((await templates()).map((t) => t.name));
    expect((await plan(target, catalog, { shadow: shadowRole.shadow })).rehearsal.ok).toBe(true);
    await closeShadowConnections(); // no spare copy: the next plan must build the template again
    const [template] = (await templates()).filter((t) => !before.has(t.name));
    const other = `other_${template!.name.slice(-12)}`;

    const sql = postgres(shadowRole.shadow.adminUrl, { max: 2, onnotice: () => {} });
    try {
      await sql.unsafe(`CREATE DATABASE "${other}" TEMPLATE "${template!.name}"`);
      await sql.unsafe(`ALTER DATABASE "${other}" WITH ALLOW_CONNECTIONS false`); // as a planner publishes one
      await sql.unsafe(`DROP DATABASE "${template!.name}"`);
      const replanned = await sql.reserve();
      let planned: ReturnType<typeof plan> | undefined;
      try {
        await replanned.unsafe("BEGIN");
        await replanned.unsafe(`ALTER DATABASE "${other}" RENAME TO "${template!.name}"`);
        planned = plan(target, catalog, { shadow: shadowRole.shadow });
        const waiting = async () =>
          (await sql`select 1 from pg_stat_activity where query like 'ALTER DATABASE "shadow_build_%' and wait_event_type = 'Lock'`).length > 0;
        const deadline = Date.now() + 60_000;
        while (!(await waiting())) {
          if (Date.now() > deadline) throw new Error("the planner never reached its rename");
          await new Promise((r) => setTimeout(r, 50));
        }
        await replanned.unsafe("COMMIT");
      } finally {
        replanned.release();
      }
      const result = await planned!;
      expect(result.rehearsal).toMatchObject({ ok: true, error: null });
      expect(result.migrations.map((m) => m.tag)).toEqual(["0008_performance_indexes"]);
      await closeShadowConnections();
      const left = (await shadowRole.owned()).filter((d) => !before.has(d.name));
      expect(left.map((d) => d.name)).toEqual([template!.name]);
    } finally {
      await sql.unsafe(`DROP DATABASE IF EXISTS "${other}"`).catch(() => {});
      await sql.end();
    }
  });

  it("a template refuses connections, so no stray session can block the copies", async () => {
    const [template] = await templates();
    expect(template!.allowsConnections).toBe(false);
    const url = new URL(shadowRole.shadow.adminUrl);
    url.pathname = `/${template!.name}`;
    const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
    try {
      await expect(sql`select 1`).rejects.toThrow(/is not currently accepting connections/);
    } finally {
      await sql.end();
    }
  });

  it("the shadow server keeps at most six templates", async () => {
    const catalog = await loadCatalog(copyOfFolder());
    const tags = catalog.migrations.slice(0, 7).map((m) => m.tag);
    for (const tag of tags) {
      const target = await targetAt(catalog, tag);
      expect((await plan(target, catalog, { shadow: shadowRole.shadow })).rehearsal.ok).toBe(true);
    }
    expect((await templates()).length).toBeLessThanOrEqual(6);
    await closeShadowConnections();
    expect((await shadowRole.owned()).filter((d) => !d.name.startsWith("shadow_tpl_"))).toEqual([]);
  }, 120_000); // seven targets and seven template builds: long on a busy machine
});
