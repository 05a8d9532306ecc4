/**
 * A rehearsal that changes cluster-wide objects (roles, databases, ALTER SYSTEM settings) puts back
 * only what its SQL names: what someone else creates on the shadow cluster meanwhile (an operator,
 * another plan, a test) survives it, and two such rehearsals take turns instead of undoing each
 * other's changes.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { closeShadowConnections, keepClusterObjects } from "../../lib/plan/shadow";
import { shadowAdminUrl } from "../support/databases";

const suffix = randomBytes(4).toString("hex");
const rehearsed = `rehearsed_${suffix}`;
const outsider = `outsider_${suffix}`;
const admin = postgres(shadowAdminUrl(), { max: 1, onnotice: () => {} });
const exists = async (role: string) => (await admin`select 1 from pg_roles where rolname = ${role}`).length === 1;

afterAll(async () => {
  await admin.unsafe(`DROP ROLE IF EXISTS "${rehearsed}"`);
  await admin.unsafe(`DROP ROLE IF EXISTS "${outsider}"`);
  await admin.end();
  await closeShadowConnections();
});

describe("putting the shadow cluster's roles back after a rehearsal", () => {
  it("drops the role the rehearsed SQL created and keeps one created by someone else meanwhile", async () => {
    const restore = await keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed} NOLOGIN;`]);
    await admin.unsafe(`CREATE ROLE "${rehearsed}" NOLOGIN`);
    await admin.unsafe(`CREATE ROLE "${outsider}" LOGIN`);
    await restore();
    expect(await exists(rehearsed)).toBe(false);
    expect(await exists(outsider)).toBe(true);
  });

  it("makes a second role-changing rehearsal wait until the first has put its roles back", async () => {
    const first = await keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed}`]);
    let secondStarted = false;
    const second = keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`ALTER ROLE ${rehearsed} LOGIN`]).then((restore) => {
      secondStarted = true;
      return restore;
    });
    // The second is queued on the advisory lock the first holds (seen by the server, not timed).
    await expect
      .poll(async () => (await admin`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`)[0]!.n, { timeout: 10_000 })
      .toBeGreaterThan(0);
    expect(secondStarted).toBe(false);
    await first();
    const restoreSecond = await second;
    expect(secondStarted).toBe(true);
    await restoreSecond();
  });

  it("drops a database it created and sets back an ALTER SYSTEM setting it changed, leaving others' alone", async () => {
    const database = `rehearsed_db_${suffix}`;
    const othersDatabase = `outsider_db_${suffix}`;
    const setting = async (name: string) =>
      (await admin<{ setting: string }[]>`select setting from pg_file_settings where sourcefile like '%postgresql.auto.conf' and name = ${name}`)[0]?.setting ?? null;
    const databaseExists = async (name: string) => (await admin`select 1 from pg_database where datname = ${name}`).length === 1;
    const workMemBefore = await setting("work_mem");
    const restore = await keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`CREATE DATABASE ${database};`, `ALTER SYSTEM SET work_mem = '77MB';`]);
    try {
      await admin.unsafe(`CREATE DATABASE "${database}"`);
      await admin.unsafe(`CREATE DATABASE "${othersDatabase}"`);
      await admin.unsafe(`ALTER SYSTEM SET work_mem = '77MB'`);
      await admin.unsafe(`ALTER SYSTEM SET maintenance_work_mem = '99MB'`);
      await restore();
      expect(await databaseExists(database)).toBe(false);
      expect(await databaseExists(othersDatabase)).toBe(true);
      expect(await setting("work_mem")).toBe(workMemBefore);
      expect(await setting("maintenance_work_mem")).toBe("99MB");
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.unsafe(`DROP DATABASE IF EXISTS "${othersDatabase}" WITH (FORCE)`);
      await admin.unsafe(`ALTER SYSTEM RESET maintenance_work_mem`);
      if (workMemBefore === null) await admin.unsafe(`ALTER SYSTEM RESET work_mem`);
      await admin`select pg_reload_conf()`;
    }
  });

  it("gives up waiting for its turn after a bound, saying why, instead of hanging behind a rehearsal that does", async () => {
    const first = await keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed}`]);
    try {
      await expect(keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`ALTER ROLE ${rehearsed} LOGIN`], { turnWaitMs: 300 })).rejects.toThrow(
        /Another plan's rehearsal that changes cluster-wide objects on the shadow server has held its turn/,
      );
    } finally {
      await first();
    }
    // The turn is free again: the next one gets it at once.
    const next = await keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed}`], { turnWaitMs: 5_000 });
    await next();
  });
});
