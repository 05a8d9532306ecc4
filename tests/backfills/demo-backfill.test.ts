/**
 * The demo's anonymisation backfill on staging, through the gates as each role: a backfill that
 * writes tagged data waits for the compliance officer; once run, the board's Retention warning is
 * gone and the consent proofs still verify (no consent row was rewritten).
 */
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedArchivedPatients } from "../../db/seed/archive";
import { seedDemoData } from "../../db/seed/demo";
import { approveDeployment, createDeployment, deploymentView, enqueueDeployment, signoffDeployment } from "../../lib/deployments/service";
import { deployments, verificationSnapshots } from "../../lib/store/schema";
import { runVerification } from "../../lib/verify";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";
import { BACKFILL_FIXTURES } from "./support";

let c: TestConsole;
let staging: postgres.Sql;

beforeAll(async () => {
  c = await startTestConsole({ local: 9, staging: 9 });
  staging = postgres(c.targets.staging!.url, { max: 2, onnotice: () => {} });
  const seeded = await seedDemoData(staging);
  expect(seeded.skipped).toBe(false);
  // Like the demo's staging: a clinic's archive, overdue for anonymisation (more batches than one).
  expect(await seedArchivedPatients(staging, 3000)).toBe(3000);
}, 120_000);
afterAll(async () => {
  await staging?.end();
  await c?.close();
});

const checkStatus = async (id: string) => (await runVerification(staging)).results.find((r) => r.checkId === id)!.status;

async function waitForState(id: string, states: string[], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
    if (states.includes(row!.state)) return row!;
    if (Date.now() > deadline) throw new Error(`deployment stayed ${row!.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("compliance sign-off for a backfill", () => {
  it("is required when the backfill writes tagged columns, and not otherwise", async () => {
    c.deps.backfillsDir = BACKFILL_FIXTURES;
    try {
      const engineer = await c.actor(EMAIL.engineer);
      const tagged = await createDeployment(c.deps, engineer, { environment: "staging", kind: "backfill", backfill: "mark-patients", to: null });
      expect(tagged.plan.requiresComplianceSignoff).toBe(true);
      expect(tagged.plan.backfill!.columns).toEqual([{ name: "patient_notes", expression: "NULL", dataClass: "health" }]);
      expect(tagged.plan.findings.map((f) => f.rule)).toContain("console/tagged-data-change");
      const view = await deploymentView(c.deps, await c.actor(EMAIL.release), tagged.id);
      expect(view.progress.compliance.required).toBe(true);
      // bf_items is not on staging: the plan is blocked, and still says no sign-off is needed.
      const untagged = await createDeployment(c.deps, engineer, { environment: "staging", kind: "backfill", backfill: "untagged-items", to: null });
      expect(untagged.plan.requiresComplianceSignoff).toBe(false);
      expect(untagged.plan.blockers).toEqual(["db/backfills/untagged-items.json: the target has no table public.bf_items."]);
      const missing = await createDeployment(c.deps, engineer, { environment: "staging", kind: "backfill", backfill: "no-such-backfill", to: null }).catch((e: Error) => e);
      expect((missing as Error).message).toMatch(/There is no backfill "no-such-backfill" in db\/backfills \(there are: double-items, mark-patients, untagged-items\)/);
    } finally {
      c.deps.backfillsDir = undefined;
    }
  }, 60_000);
});

describe("the demo anonymisation backfill", () => {
  it("is planned, signed off, approved and run; the Retention warning is gone and consent proofs still verify", async () => {
    expect(await checkStatus("retention.anonymisation-overdue")).toBe("warn");
    const consentsBefore = await staging`select id, consent_hash from lgpd.lgpd_consents order by id`;
    const [due] = await staging<{ overdue: number }[]>`
      select count(*)::int as overdue from public.patients where data_anonymization_scheduled < now() and data_anonymized_at is null`;
    const overdue = due!.overdue;
    expect(overdue).toBeGreaterThan(0);

    const engineer = await c.actor(EMAIL.engineer);
    const release = await c.actor(EMAIL.release);
    const compliance = await c.actor(EMAIL.compliance);
    const created = await createDeployment(c.deps, engineer, { environment: "staging", kind: "backfill", backfill: "anonymize-expired-patients", to: null });
    const plan = created.plan.backfill!;
    expect(created.kind).toBe("backfill");
    expect(created.backfillName).toBe("anonymize-expired-patients");
    expect(plan.rows.counted).toBe(overdue);
    expect(plan.rows.estimated).not.toBeNull();
    expect(plan.rehearsal).toMatchObject({ ok: true, sampleRows: 350 }); // three batches from 50, each may double
    expect(plan.rehearsal.batches).toHaveLength(3);
    expect(plan.rehearsal.batches[0]!.rows).toBe(50);
    expect(plan.estimatedDurationMs).not.toBeNull();
    expect(plan.columns.find((col) => col.name === "cpf")?.dataClass).toBe("identifier");
    expect(plan.columns.find((col) => col.name === "allergies")?.dataClass).toBe("health");
    expect(created.state).toBe("awaiting_approval");

    await approveDeployment(c.deps, release, { id: created.id });
    await expect(enqueueDeployment(c.deps, release, { id: created.id })).rejects.toThrow(/compliance officer's sign-off/);
    await signoffDeployment(c.deps, compliance, { id: created.id, comment: "LGPD Art. 16: retention passed" });
    await enqueueDeployment(c.deps, release, { id: created.id });
    const done = await waitForState(created.id, ["succeeded", "failed"]);
    expect(done.state).toBe("succeeded");

    const [after] = await staging<{ left: number; anonymised: number }[]>`
      select count(*) filter (where data_anonymization_scheduled < now() and data_anonymized_at is null)::int as left,
        count(*) filter (where data_anonymized_at is not null and cpf is null and cns is null and full_name = 'Paciente anonimizado' and allergies is null)::int as anonymised
      from public.patients`;
    expect(after).toEqual({ left: 0, anonymised: overdue });
    const { backfillView } = await import("../../lib/deployments/backfill-control");
    const progress = await backfillView(c.store.db, release, created.id);
    expect(progress).toMatchObject({ status: "succeeded", percent: 100, rowsDone: overdue, rowsTotal: overdue });
    expect(progress.batches).toBeGreaterThan(6);
    expect(await staging`select id, consent_hash from lgpd.lgpd_consents order by id`).toEqual(consentsBefore);
    expect(await checkStatus("retention.anonymisation-overdue")).toBe("pass");
    expect(await checkStatus("consent.hashes")).toBe("pass");
    expect(await checkStatus("consent.trigger")).toBe("pass");

    // The worker verified the environment right after, like after an apply.
    const deadline = Date.now() + 30_000;
    let snapshot;
    while (!(snapshot = (await c.store.db.select().from(verificationSnapshots).where(eq(verificationSnapshots.deploymentId, created.id)))[0]) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(snapshot?.outcome).toBe("passed");
  }, 120_000);
});

