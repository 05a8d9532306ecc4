/**
 * The deployment lifecycle as each role meets it, through the real server actions and route
 * handlers on real targets with a real worker: rejection with a reason, promotion's verification
 * half, rollback deployments through the gates, and every state change's audit event committed in
 * the same transaction as the change (a failure after the change leaves neither).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { expectConsoleError } from "../support/console-errors";
import { auditTrail, deploymentRow, EMAIL, startTestConsole, storeCounts, waitForDeployment, type TestConsole } from "../support/console";

vi.mock("next-auth", async (importOriginal) => ({
  ...(await importOriginal<typeof import("next-auth")>()),
  getServerSession: async () => (await import("../support/console")).sessionFromTest(),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {}, revalidateTag: () => {} }));

const actions = await import("../../app/(console)/deployments/actions");
const compliance = await import("../../app/(console)/compliance/actions");
const { readStatus, applyMigrations } = await import("../../lib/executor");
const { deploymentView } = await import("../../lib/deployments/service");
const { approvals, deployments, runs } = await import("../../lib/store/schema");
const { eq } = await import("drizzle-orm");

let c: TestConsole;
beforeAll(async () => {
  // local at 0006 (for the audit tests), staging at 0006 with no verification yet, production at 0006.
  c = await startTestConsole({ local: 7, staging: 7, production: 7 });
}, 120_000);
afterAll(async () => c?.close());

type AnyResult = { ok: true; data: unknown } | { ok: false; error: { status: number; code: string; message: string; fields?: Record<string, string[]> } };

async function as<T>(email: string, call: () => Promise<T>): Promise<T> {
  await c.signedInAs(email);
  return call();
}

function idOf(result: AnyResult): string {
  expect(result.ok, JSON.stringify(result)).toBe(true);
  return (result as { ok: true; data: { id: string } }).data.id;
}

/** The action must be refused with this status and message, and change nothing in the store. */
async function refusedUnchanged(email: string, call: () => Promise<AnyResult>, status: number | number[], message: RegExp, options: { auditedRefusal?: boolean } = {}) {
  const counts = async () => {
    const all = await storeCounts(c);
    // A refusal the console audits adds its audit event and nothing else.
    if (options.auditedRefusal) delete all["public.audit_events"];
    return all;
  };
  const before = await counts();
  const result = await as(email, call);
  expect(result.ok, JSON.stringify(result)).toBe(false);
  expect([status].flat(), JSON.stringify(result)).toContain(result.ok ? 200 : result.error.status);
  expect(result.ok ? "" : result.error.message).toMatch(message);
  expect(await counts()).toEqual(before);
  return result;
}

async function verifyAs(email: string, environment: string) {
  const result = await as(email, () => compliance.runVerificationAction({ environment }));
  expect(result.ok, JSON.stringify(result)).toBe(true);
  return result.ok ? result.data.outcome : null;
}

describe("rejecting a deployment", () => {
  it("takes a reason, records who rejected it and why, and ends the deployment", async () => {
    const id = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging" })));

    const noReason = await refusedUnchanged(EMAIL.release, () => actions.rejectDeploymentAction({ id, reason: " " }), 400, /Some fields need attention/);
    expect(noReason.ok ? null : noReason.error.fields).toEqual({ reason: ["Say why the deployment is rejected"] });
    await refusedUnchanged(EMAIL.engineer, () => actions.rejectDeploymentAction({ id, reason: "I changed my mind" }), 403, /^This needs the .* role/);
    await refusedUnchanged(EMAIL.admin, () => actions.rejectDeploymentAction({ id, reason: "I changed my mind" }), 403, /^This needs the .* role/);

    const rejected = await as(EMAIL.compliance, () => actions.rejectDeploymentAction({ id, reason: "Consent table change needs the DPO's review first" }));
    expect(rejected.ok, JSON.stringify(rejected)).toBe(true);
    const row = await deploymentRow(c, id);
    expect(row).toMatchObject({ state: "rejected", rejectReason: "Consent table change needs the DPO's review first" });
    const last = (await auditTrail(c, id)).at(-1)!;
    expect(last).toMatchObject({ action: "deployment.rejected", actorEmail: EMAIL.compliance, details: { from: "awaiting_approval", reason: "Consent table change needs the DPO's review first" } });

    // A rejected deployment is final: no approval, no apply, no second rejection, no replan.
    await refusedUnchanged(EMAIL.release, () => actions.approveDeploymentAction({ id }), [403, 409], /(is|was) rejected/);
    await refusedUnchanged(EMAIL.release, () => actions.applyDeploymentAction({ id }), [403, 409], /(is|was) rejected/);
    await refusedUnchanged(EMAIL.release, () => actions.rejectDeploymentAction({ id, reason: "again" }), [403, 409], /(is|was) rejected/);
    await refusedUnchanged(EMAIL.engineer, () => actions.replanDeploymentAction({ id }), [403, 409], /(is|was) rejected/);

    const view = await deploymentView(c.deps, await c.actor(EMAIL.release), id);
    expect(view.deployment.rejectReason).toBe("Consent table change needs the DPO's review first");
    expect(view.decisions.approve.allowed).toBe(false);
  });
});

describe("promotion: production takes only what staging applied and verified afterwards", () => {
  let productionId: string;

  /** Production refuses the deployment when it is opened (promotion is part of the plan basis). */
  async function productionRefused(message: RegExp) {
    const refused = await refusedUnchanged(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "production" }), 403, message, { auditedRefusal: true });
    expect(refused.ok ? null : refused.error.code).toBe("promotion");
  }

  it("refuses while staging's latest verification is older than its apply, and changes nothing", async () => {
    // Staging verified at 0006, then moved to 0008 outside a deployment.
    expect(await verifyAs(EMAIL.compliance, "staging")).not.toBeNull();
    await applyMigrations({ url: c.targets.staging!.url, catalog: c.catalog, actor: "test-setup" });
    await productionRefused(/^Staging has not been verified since these migrations were applied there/);
  });

  it("refuses while staging's latest verification failed, naming the counts", async () => {
    await c.targets.staging!.sql`ALTER TABLE lgpd.lgpd_consents DISABLE TRIGGER lgpd_consents_guard_hash`;
    expect(await verifyAs(EMAIL.engineer, "staging")).toBe("failed");
    await productionRefused(/^Staging's latest verification did not pass \(\d+ failed, \d+ could not run\)/);
  });

  it("takes the deployment once staging's latest verification passed", async () => {
    await c.targets.staging!.sql`ALTER TABLE lgpd.lgpd_consents ENABLE TRIGGER lgpd_consents_guard_hash`;
    expect(await verifyAs(EMAIL.compliance, "staging")).toBe("passed");
    productionId = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "production" })));
    expect((await as(EMAIL.release, () => actions.approveDeploymentAction({ id: productionId }))).ok).toBe(true);
    expect((await as(EMAIL.release2, () => actions.approveDeploymentAction({ id: productionId }))).ok).toBe(true);
    if ((await deploymentRow(c, productionId)).state !== "approved") {
      expect((await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id: productionId }))).ok).toBe(true);
    }
    expect((await deploymentRow(c, productionId)).state).toBe("approved");
    expect((await as(EMAIL.release, () => actions.applyDeploymentAction({ id: productionId }))).ok).toBe(true);
    expect((await waitForDeployment(c, productionId, ["succeeded", "failed"])).state).toBe("succeeded");
    expect((await readStatus(c.targets.production!.url, c.catalog)).pending).toEqual([]);
  }, 90_000);

  describe("rolling it back", () => {
    let rollbackId: string;

    it("opens a rollback deployment to where it started, under the same gates as an apply", async () => {
      rollbackId = idOf(await as(EMAIL.engineer, () => actions.rollbackDeploymentAction({ id: productionId })));
      const rollback = await deploymentRow(c, rollbackId);
      expect(rollback).toMatchObject({ kind: "rollback", targetTag: "0006_appointment_overlap", state: "awaiting_approval" });
      expect(rollback.plan.migrations.map((m) => m.tag)).toEqual(["0008_performance_indexes", "0007_row_level_security"]);

      await refusedUnchanged(EMAIL.engineer, () => actions.applyDeploymentAction({ id: rollbackId }), 403, /^Waiting for 2 more release-manager approval|Only a release manager may start a deployment on production/);
      await refusedUnchanged(EMAIL.release, () => actions.applyDeploymentAction({ id: rollbackId }), 403, /^Waiting for 2 more release-manager approval/);
      await refusedUnchanged(EMAIL.engineer, () => actions.approveDeploymentAction({ id: rollbackId }), 403, /^This needs the .* role/);
      // Rolling back a rollback, or a deployment that did not succeed, is refused.
      await refusedUnchanged(EMAIL.engineer, () => actions.rollbackDeploymentAction({ id: rollbackId }), 403, /Only an applied deployment can be rolled back/);
    });

    it("runs once approved (no promotion check for a rollback), taking production back with its audit trail", async () => {
      expect((await as(EMAIL.release, () => actions.approveDeploymentAction({ id: rollbackId }))).ok).toBe(true);
      expect((await as(EMAIL.release2, () => actions.approveDeploymentAction({ id: rollbackId }))).ok).toBe(true);
      if ((await deploymentRow(c, rollbackId)).state === "awaiting_approval") {
        expect((await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id: rollbackId }))).ok).toBe(true);
      }
      expect((await as(EMAIL.release, () => actions.applyDeploymentAction({ id: rollbackId }))).ok).toBe(true);
      expect((await waitForDeployment(c, rollbackId, ["succeeded", "failed"])).state).toBe("succeeded");
      // Verified after the rollback too (before anything else is compared).
      const deadline = Date.now() + 15_000;
      while (!(await deploymentRow(c, rollbackId)).verification && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await deploymentRow(c, rollbackId)).verification).not.toBeNull();

      const status = await readStatus(c.targets.production!.url, c.catalog);
      expect(status.current).toBe("0006_appointment_overlap");
      expect(status.pending).toEqual(["0007_row_level_security", "0008_performance_indexes"]);
      const history = await c.targets.production!.sql<{ tag: string; direction: string }[]>`select tag, direction from migration_console.history order by id`;
      expect(history.slice(-2)).toEqual([
        { tag: "0008_performance_indexes", direction: "down" },
        { tag: "0007_row_level_security", direction: "down" },
      ]);
      const trail = (await auditTrail(c, rollbackId)).map((e) => e.action);
      expect(trail).toEqual(["deployment.created", "deployment.approved", "deployment.approved", ...(trail.includes("deployment.signed_off") ? ["deployment.signed_off"] : []), "deployment.queued", "deployment.started", "deployment.rolled_back"]);
      await refusedUnchanged(EMAIL.engineer, () => actions.rollbackDeploymentAction({ id: rollbackId }), 403, /Only an applied deployment can be rolled back/);
    });
  });
});

describe("every state change and its audit event commit together", () => {
  /** Makes the store refuse to record one audit action, as a failure right after the state change would. */
  async function failAuditOf(action: string | null) {
    await c.store.sql.unsafe(`
      create table if not exists test_refused_audit (action text primary key);
      create or replace function test_refuse_audit() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from test_refused_audit where action = new.action) then
          raise exception 'injected failure while recording %', new.action;
        end if;
        return new;
      end $$;
      drop trigger if exists test_refuse_audit on audit_events;
      create trigger test_refuse_audit before insert on audit_events for each row execute function test_refuse_audit();
      delete from test_refused_audit;`);
    if (action) await c.store.sql`insert into test_refused_audit values (${action})`;
  }

  /** With `action`'s audit event refused the call fails and leaves the store exactly as it was; then it succeeds with exactly one event. */
  async function atomically(email: string, action: string, call: () => Promise<AnyResult>): Promise<AnyResult> {
    await failAuditOf(action);
    const before = await storeCounts(c);
    const countOf = async () => (await c.store.sql<{ n: number }[]>`select count(*)::int as n from audit_events where action = ${action}`)[0]!.n;
    const eventsBefore = await countOf();
    const { value: failed } = await expectConsoleError(/injected failure while recording/, () => as(email, call));
    expect(failed).toMatchObject({ ok: false, error: { status: 500, message: expect.not.stringMatching(/injected|audit_events|postgres/) } });
    expect(await storeCounts(c)).toEqual(before);
    await failAuditOf(null);
    const result = await as(email, call);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(await countOf()).toBe(eventsBefore + 1);
    return result;
  }

  afterAll(async () => {
    await c.store.sql.unsafe(`drop trigger if exists test_refuse_audit on audit_events; drop table if exists test_refused_audit;`);
  });

  it("create, sign off, replan, queue: each with its event, none without", async () => {
    const id = idOf(await atomically(EMAIL.engineer, "deployment.created", () => actions.createDeploymentAction({ environment: "local", to: "0007_row_level_security" })));
    const created = (await auditTrail(c, id))[0]!;
    expect(created).toMatchObject({ action: "deployment.created", actorEmail: EMAIL.engineer, details: { environment: "local", planHash: (await deploymentRow(c, id)).planHash, to: "0007_row_level_security" } });

    await atomically(EMAIL.engineer, "deployment.plan_recomputed", () => actions.replanDeploymentAction({ id }));
    await atomically(EMAIL.compliance, "deployment.signed_off", () => actions.signoffDeploymentAction({ id }));
    expect(await c.store.db.select().from(approvals).where(eq(approvals.deploymentId, id))).toHaveLength(1);
    expect((await deploymentRow(c, id)).state).toBe("approved");

    // The worker is running: the state must stay approved and no job may reach it when the event is refused.
    await atomically(EMAIL.engineer, "deployment.queued", () => actions.applyDeploymentAction({ id }));
    expect((await waitForDeployment(c, id, ["succeeded", "failed"])).state).toBe("succeeded");
    expect(await c.store.db.select().from(runs).where(eq(runs.deploymentId, id))).toHaveLength(1);

    const trail = await auditTrail(c, id);
    expect(trail.map((e) => e.action)).toEqual(["deployment.created", "deployment.plan_recomputed", "deployment.signed_off", "deployment.queued", "deployment.started", "deployment.applied"]);
    expect(trail.find((e) => e.action === "deployment.applied")!.details).toMatchObject({ planHash: (await deploymentRow(c, id)).planHash, migrations: ["0007_row_level_security"] });
  }, 120_000);

  it("reject and cancel: each with its event, none without", { timeout: 90_000 }, async () => {
    const first = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "local" })));
    await atomically(EMAIL.compliance, "deployment.rejected", () => actions.rejectDeploymentAction({ id: first, reason: "not this week" }));
    expect(await deploymentRow(c, first)).toMatchObject({ state: "rejected", rejectReason: "not this week" });

    const second = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "local" })));
    const stateBefore = (await deploymentRow(c, second)).state;
    await atomically(EMAIL.engineer, "deployment.cancelled", () => actions.cancelDeploymentAction({ id: second }));
    expect((await deploymentRow(c, second)).state).toBe("cancelled");
    expect((await auditTrail(c, second)).at(-1)).toMatchObject({ action: "deployment.cancelled", actorEmail: EMAIL.engineer, details: { from: stateBefore } });
  });

  it("the worker's claim: a refused 'started' event leaves the deployment queued with no run", async () => {
    const id = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "local" })));
    expect((await deploymentRow(c, id)).state).toBe("approved");
    await failAuditOf("deployment.started");
    expect((await as(EMAIL.engineer, () => actions.applyDeploymentAction({ id }))).ok).toBe(true);
    // The worker took the job and failed to claim it.
    const deadline = Date.now() + 10_000;
    const jobState = async () => (await c.store.sql<{ state: string }[]>`select state from pgboss.job where singleton_key = ${id}`)[0]?.state;
    while ((await jobState()) !== "failed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await jobState()).toBe("failed");
    expect((await deploymentRow(c, id)).state).toBe("queued");
    expect(await c.store.db.select().from(runs).where(eq(runs.deploymentId, id))).toEqual([]);
    expect((await readStatus(c.targets.local!.url, c.catalog)).pending).toEqual(["0008_performance_indexes"]);
    // Cancelled while the claim is still refused, so a re-sent job (housekeeping) cannot start it after.
    expect((await as(EMAIL.engineer, () => actions.cancelDeploymentAction({ id }))).ok).toBe(true);
    await failAuditOf(null);
    expect((await c.store.db.select().from(deployments).where(eq(deployments.id, id)))[0]!.state).toBe("cancelled");
  });
});
