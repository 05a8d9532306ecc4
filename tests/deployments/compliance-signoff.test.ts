/** A migration that drops a patient column cannot reach a target without a compliance officer. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { approveDeployment, createDeployment, enqueueDeployment, signoffDeployment } from "../../lib/deployments/service";
import { addMigration, copyOfFolder, removeFixtureFolders, statements } from "../executor/support";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";

let c: TestConsole;
beforeAll(async () => {
  c = await startTestConsole({ local: 9, staging: 9, production: 9 }, { worker: false });
  const dir = copyOfFolder();
  addMigration(dir, {
    tag: "0009_drop_patient_rg",
    when: c.catalog.latest!.when + 1000,
    up: statements(`ALTER TABLE "patients" DROP COLUMN "rg"`),
    down: statements(`ALTER TABLE "patients" ADD COLUMN "rg" varchar(20)`),
  });
  const catalog = await loadCatalog(dir);
  c.deps.catalog = async () => catalog;
}, 120_000);
afterAll(async () => {
  await c?.close();
  removeFixtureFolders();
});

describe("dropping a tagged patient column", () => {
  it("is flagged by the lint and waits for a compliance sign-off after the release managers approve", async () => {
    const deployment = await createDeployment(c.deps, await c.actor(EMAIL.engineer), { environment: "staging", kind: "apply", to: null });
    const finding = deployment.plan.findings.find((f) => f.tag === "0009_drop_patient_rg" && f.requiresComplianceSignoff);
    expect(finding, JSON.stringify(deployment.plan.findings, null, 2)).toBeDefined();
    expect(finding!.touches.taggedData).toBe(true);
    expect(deployment.plan.requiresComplianceSignoff).toBe(true);

    const approved = await approveDeployment(c.deps, await c.actor(EMAIL.release), { id: deployment.id });
    expect(approved.state).toBe("awaiting_approval");
    await expect(enqueueDeployment(c.deps, await c.actor(EMAIL.release), { id: deployment.id })).rejects.toThrow(/compliance officer's sign-off/);

    const signed = await signoffDeployment(c.deps, await c.actor(EMAIL.compliance), { id: deployment.id });
    expect(signed.state).toBe("approved");
  });
});
