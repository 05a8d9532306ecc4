/**
 * Drift between deployments: a change by hand on a target is found by the scheduled verification,
 * each object named, audited once, shown with the board group it turns red; `status --json` says
 * the same.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { startVerificationSchedule } from "../../lib/jobs/verification";
import { auditEvents } from "../../lib/store/schema";
import { recordedStatus } from "../../lib/targets/overview";
import { complianceBoard, latestCheckResult } from "../../lib/verify/board";
import { shadowAdminUrl } from "../support/databases";
import { startTestConsole, type TestConsole } from "../support/console";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");

let c: TestConsole;
beforeAll(async () => {
  c = await startTestConsole({ local: 9, staging: 9, production: 9 }, { worker: false });
}, 120_000);
afterAll(async () => c?.close());

describe("drift between deployments", () => {
  it("is found by the schedule, named object by object, audited when first seen, and turns the matching board groups red", async () => {
    // By hand, outside any migration: RLS off on patients, a tenant policy dropped.
    await c.targets.staging!.sql.unsafe(`ALTER TABLE public.patients DISABLE ROW LEVEL SECURITY; DROP POLICY "clinics_tenant_select" ON public.clinics`);
    // Only staging is scheduled here, so the other environments stay untouched.
    const deps = { ...c.deps, registry: { ...c.deps.registry, environments: c.deps.registry.environments.filter((e) => e.name === "staging") } };
    const schedule = await startVerificationSchedule(c.boss, deps);
    try {
      let status = await recordedStatus(c.store.db, "staging");
      for (let i = 0; i < 300 && !status; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await recordedStatus(c.store.db, "staging");
      }
      expect(status, "the schedule verified staging").not.toBeNull();
      expect(status!.drift).toMatchObject({ drifted: true, unchecked: null });
      expect(status!.drift!.objects).toEqual(
        expect.arrayContaining([
          { object: "table public.patients", change: "changed", fields: ["rlsEnabled"], group: "rls-enabled-forced" },
          { object: "policy clinics_tenant_select on public.clinics", change: "removed", fields: [], group: "tenant-policies" },
        ]),
      );
      expect(status!.drift!.objects).toHaveLength(2);
      expect(status!.failingGroups).toEqual(expect.arrayContaining(["rls-enabled-forced", "tenant-policies"]));

      const board = await complianceBoard(c.store, deps.registry);
      const staging = board.environments.find((e) => e.name === "staging")!;
      expect(staging.groups["rls-enabled-forced"]).toBe("fail");
      expect(staging.groups["tenant-policies"]).toBe("fail");
      const driftCheck = await latestCheckResult(c.store, "staging", "drift:tenant-policies");
      expect(driftCheck!.result).toMatchObject({ status: "fail", evidence: { objects: ["policy clinics_tenant_select on public.clinics"] } });

      const audited = await c.store.db.select().from(auditEvents).where(and(eq(auditEvents.action, "drift.detected"), eq(auditEvents.subjectId, "staging")));
      expect(audited).toHaveLength(1);
      expect((audited[0]!.details as { objects: { object: string }[] }).objects.map((o) => o.object).sort()).toEqual(["policy clinics_tenant_select on public.clinics", "table public.patients"]);
    } finally {
      await schedule.stop();
    }
  }, 60_000);

  it("an untouched environment has no drift, and `status --json` names the drifted objects", async () => {
    const cli = async (env: string) => {
      const { stdout } = await run(process.execPath, [path.join(root, "cli/bin.cjs"), "status", "--database-url", env, "--json"], {
        cwd: root,
        env: { ...process.env, SHADOW_DATABASE_URL: shadowAdminUrl() },
        timeout: 60_000,
      });
      return JSON.parse(stdout) as { drift: { drifted: boolean; objects: { object: string }[] } };
    };
    expect((await cli(c.targets.production!.url)).drift).toEqual({ drifted: false, objects: [], unchecked: null });
    await c.targets.production!.sql.unsafe(`ALTER TABLE public.patients ADD COLUMN notes_by_hand text`);
    const drifted = (await cli(c.targets.production!.url)).drift;
    expect(drifted.drifted).toBe(true);
    expect(drifted.objects).toEqual([{ object: "column public.patients.notes_by_hand", change: "added", fields: [], group: "tables-columns" }]);
  }, 120_000);
});
