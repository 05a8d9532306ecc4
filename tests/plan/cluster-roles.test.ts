/**
 * A rehearsal that changes roles puts back only the roles its SQL names: a role someone else creates
 * on the shadow cluster meanwhile (an operator, another plan, a test) survives it, and two such
 * rehearsals take turns instead of undoing each other's roles.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { closeShadowConnections, keepClusterRoles } from "../../lib/plan/shadow";
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
    const restore = await keepClusterRoles({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed} NOLOGIN;`]);
    await admin.unsafe(`CREATE ROLE "${rehearsed}" NOLOGIN`);
    await admin.unsafe(`CREATE ROLE "${outsider}" LOGIN`);
    await restore();
    expect(await exists(rehearsed)).toBe(false);
    expect(await exists(outsider)).toBe(true);
  });

  it("makes a second role-changing rehearsal wait until the first has put its roles back", async () => {
    const first = await keepClusterRoles({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed}`]);
    let secondStarted = false;
    const second = keepClusterRoles({ adminUrl: shadowAdminUrl() }, [`ALTER ROLE ${rehearsed} LOGIN`]).then((restore) => {
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

  it("gives up waiting for its turn after a bound, saying why, instead of hanging behind a rehearsal that does", async () => {
    const first = await keepClusterRoles({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed}`]);
    try {
      await expect(keepClusterRoles({ adminUrl: shadowAdminUrl() }, [`ALTER ROLE ${rehearsed} LOGIN`], { turnWaitMs: 300 })).rejects.toThrow(
        /Another plan's rehearsal that changes roles on the shadow server has held its turn/,
      );
    } finally {
      await first();
    }
    // The turn is free again: the next one gets it at once.
    const next = await keepClusterRoles({ adminUrl: shadowAdminUrl() }, [`CREATE ROLE ${rehearsed}`], { turnWaitMs: 5_000 });
    await next();
  });
});
