/**
 * The verification that follows a run is recorded after the run's outcome. When it cannot be (the
 * store went away in between), the run stays what it was and the worker's log says why: it was once
 * dropped without a word.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDeployment, enqueueDeployment } from "../../lib/deployments/service";
import { readStatus } from "../../lib/executor";
import { runDeployment } from "../../lib/jobs/run-deployment";
import { verificationSnapshots } from "../../lib/store/schema";
import { deploymentRow, EMAIL, startTestConsole, type TestConsole } from "../support/console";
import { expectConsoleError } from "../support/console-errors";

let c: TestConsole;
beforeAll(async () => {
  // local at 0007: only 0008 (indexes) pending, which local applies without an approval.
  c = await startTestConsole({ local: 8 }, { worker: false });
}, 120_000);
afterAll(async () => c?.close());

it("a verification that cannot be recorded leaves the run succeeded, and the worker's log names the deployment and the reason", async () => {
  const engineer = await c.actor(EMAIL.engineer);
  const d = await createDeployment(c.deps, engineer, { environment: "local", kind: "apply", to: null });
  expect(d.state).toBe("approved");
  await enqueueDeployment(c.deps, engineer, { id: d.id });

  const unrecordable = async () => {
    throw new Error("connection to the console's store was lost");
  };
  const { logged } = await expectConsoleError(/could not be recorded/, () => runDeployment(c.deps, d.id, "test-worker", unrecordable));
  expect(logged).toEqual([`[migration-console] the verification of local after deployment ${d.id} could not be recorded: connection to the console's store was lost`]);

  expect(await deploymentRow(c, d.id)).toMatchObject({ state: "succeeded", verification: null });
  expect((await readStatus(c.targets.local!.url, c.catalog)).pending).toEqual([]);
  expect(await c.store.db.select().from(verificationSnapshots).where(eq(verificationSnapshots.deploymentId, d.id))).toEqual([]);
});
