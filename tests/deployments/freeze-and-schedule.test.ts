/**
 * Freeze windows end to end, from a registry file as an admin writes it: no deployment starts on a
 * frozen environment (server action, page decision, CLI), it runs once the window is elsewhere in
 * time. And the verification schedule: one cron per environment at its `verifyEveryMinutes`, off
 * at 0, with environments not verified recently checked as soon as a worker starts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cli, CLI_RUN_MS } from "../cli/cli-support";
import { EMAIL, consoleProcessEnv, deploymentRow, startTestConsole, storeCounts, waitForDeployment, type TestConsole } from "../support/console";

vi.mock("next-auth", async (importOriginal) => ({
  ...(await importOriginal<typeof import("next-auth")>()),
  getServerSession: async () => (await import("../support/console")).sessionFromTest(),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {}, revalidateTag: () => {} }));

const actions = await import("../../app/(console)/deployments/actions");
const { deploymentView } = await import("../../lib/deployments/service");
const { readStatus } = await import("../../lib/executor");
const { startVerificationSchedule } = await import("../../lib/jobs/verification");

const hour = 3_600_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
const FROZEN_UNTIL = iso(2 * hour);
const ungated = { releaseManagerApprovals: 0, complianceSignoff: "never" };
const REGISTRY = {
  environments: [
    { name: "north", label: "North", urlEnv: "TARGET_NORTH_URL", verifyEveryMinutes: 2, gates: { ...ungated, freezeWindows: [{ start: iso(-hour), end: FROZEN_UNTIL, reason: "Vaccination campaign" }] } },
    { name: "south", label: "South", urlEnv: "TARGET_SOUTH_URL", verifyEveryMinutes: 0, gates: { ...ungated, freezeWindows: [{ start: iso(24 * hour), end: iso(48 * hour), reason: "Black Friday" }, { start: iso(-48 * hour), end: iso(-24 * hour), reason: "Carnival" }] } },
    { name: "east", label: "East", urlEnv: "TARGET_EAST_URL", verifyEveryMinutes: 7, gates: ungated },
  ],
};

let c: TestConsole;
beforeAll(async () => {
  c = await startTestConsole({ north: 7, south: 7, east: 9 }, { registry: REGISTRY });
}, 120_000);
afterAll(async () => c?.close());

async function as<T>(email: string, call: () => Promise<T>): Promise<T> {
  await c.signedInAs(email);
  return call();
}

describe("freeze windows", () => {
  it("refuse to start a deployment while the window is open, saying until when and why, and change nothing", async () => {
    const created = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "north" }));
    const id = created.ok ? created.data.id : "";
    expect((await deploymentRow(c, id)).state).toBe("approved");

    for (const email of [EMAIL.engineer, EMAIL.release]) {
      const before = await storeCounts(c);
      const refused = await as(email, () => actions.applyDeploymentAction({ id }));
      expect(refused).toEqual({ ok: false, error: { code: "forbidden", status: 403, message: `north is frozen until ${FROZEN_UNTIL}: Vaccination campaign` } });
      expect(await storeCounts(c)).toEqual(before);
    }
    // The page shows the same reason on the disabled button.
    const view = await deploymentView(c.deps, await c.actor(EMAIL.release), id);
    expect(view.decisions.apply).toMatchObject({ allowed: false, reason: `north is frozen until ${FROZEN_UNTIL}: Vaccination campaign` });
    // Approving and cancelling are still possible while frozen; only starting is not.
    expect((await as(EMAIL.engineer, () => actions.cancelDeploymentAction({ id }))).ok).toBe(true);
    expect((await readStatus(c.targets.north!.url, c.catalog)).pending).toHaveLength(2);
  });

  it("hold for the CLI's direct apply and rollback on a frozen ungated environment too", async () => {
    const env = { ...consoleProcessEnv() };
    for (const args of [["apply", "--env", "north", "--json"], ["rollback", "--env", "north", "--all", "--json"]]) {
      const res = await cli(args, env);
      expect(res.code).toBe(1);
      expect(res.json()).toEqual({ ok: false, error: { code: "gated", message: `north is frozen until ${FROZEN_UNTIL}: Vaccination campaign` } });
    }
    expect((await readStatus(c.targets.north!.url, c.catalog)).pending).toHaveLength(2);
  }, 3 * CLI_RUN_MS);

  it("let a deployment run when the windows are in the past or the future", async () => {
    const created = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "south" }));
    const id = created.ok ? created.data.id : "";
    const queued = await as(EMAIL.engineer, () => actions.applyDeploymentAction({ id }));
    expect(queued.ok, JSON.stringify(queued)).toBe(true);
    expect((await waitForDeployment(c, id, ["succeeded", "failed"])).state).toBe("succeeded");
    expect((await readStatus(c.targets.south!.url, c.catalog)).pending).toEqual([]);
  });
});

describe("the verification schedule", () => {
  it("schedules each environment at its own interval, none at 0, and verifies at once what was not verified recently", async () => {
    const snapshotsOf = async (env: string, trigger = "schedule") =>
      (await c.store.sql<{ n: number }[]>`
        select count(*)::int as n from verification_snapshots s join environments e on e.id = s.environment_id
        where e.name = ${env} and s.trigger = ${trigger}`)[0]!.n;
    // south was verified right after its deployment above: recent, so not verified again at start.
    const deadline = Date.now() + 20_000;
    while ((await snapshotsOf("south", "after-apply")) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await snapshotsOf("south", "after-apply")).toBe(1);

    const schedule = await startVerificationSchedule(c.boss, c.deps);
    try {
      const crons = Object.fromEntries((await c.boss.getSchedules()).map((s) => [s.name, s.cron]));
      expect(crons).toEqual({ "verify-north": "*/2 * * * *", "verify-east": "*/7 * * * *" });

      const until = Date.now() + 25_000;
      while (((await snapshotsOf("north")) === 0 || (await snapshotsOf("east")) === 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      expect(await snapshotsOf("north")).toBe(1);
      expect(await snapshotsOf("east")).toBe(1);
      expect(await snapshotsOf("south")).toBe(0);
    } finally {
      await schedule.stop();
    }

    // A worker starting again right after finds everything verified recently: no second run.
    const again = await startVerificationSchedule(c.boss, c.deps);
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      expect([await snapshotsOf("north"), await snapshotsOf("east"), await snapshotsOf("south")]).toEqual([1, 1, 0]);
    } finally {
      await again.stop();
    }
  }, 60_000);
});
