/** A worker killed mid-run must not leave its environment blocked forever. */
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeployment } from "../../lib/deployments/service";
import { reapAbandonedRuns } from "../../lib/jobs/run-deployment";
import { deployments, runs } from "../../lib/store/schema";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";

let c: TestConsole;
beforeAll(async () => {
  c = await startTestConsole({ local: 7 }, { worker: false });
}, 120_000);
afterAll(async () => c?.close());

/** A deployment left "running" by a worker that started it `ageMs` ago and then vanished. */
async function orphanedRun(ageMs: number) {
  const d = await createDeployment(c.deps, await c.actor(EMAIL.engineer), { environment: "local", kind: "apply", to: null });
  await c.store.db.update(deployments).set({ state: "running" }).where(eq(deployments.id, d.id));
  await c.store.db.insert(runs).values({ deploymentId: d.id, state: "running", worker: "gone:1", startedAt: new Date(Date.now() - ageMs) });
  return d.id;
}

async function stateOf(id: string) {
  const [row] = await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, id));
  return row!.state;
}

describe("abandoned runs", () => {
  it("are left alone while a worker still holds the target's apply lock", async () => {
    const id = await orphanedRun(5 * 60_000);
    const holder = postgres(c.targets.local!.url, { max: 1, onnotice: () => {} });
    try {
      await holder`select pg_advisory_lock(736120, 1)`;
      expect(await reapAbandonedRuns(c.deps)).toBe(0);
      expect(await stateOf(id)).toBe("running");
    } finally {
      await holder.end();
    }
    // Once nobody holds the lock, the run is failed with a reason, and the environment is free again.
    expect(await reapAbandonedRuns(c.deps)).toBe(1);
    expect(await stateOf(id)).toBe("failed");
    const [run] = await c.store.db.select().from(runs).where(eq(runs.deploymentId, id));
    expect(run!.error).toMatchObject({ code: "worker_lost" });
  });

  it("leave a run that just started alone, even before it takes the lock", async () => {
    const id = await orphanedRun(1000);
    expect(await reapAbandonedRuns(c.deps)).toBe(0);
    expect(await stateOf(id)).toBe("running");
  });
});
