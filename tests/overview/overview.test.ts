/**
 * The Overview's content in each state a person looks for: the version and pending count, a
 * running deployment with its progress, a failed last deployment, drift after a change by hand, and
 * what waits on the viewer's role. Real targets, real store, the real worker function; the Overview
 * itself reads the store only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { approveDeployment, createDeployment, enqueueDeployment, signoffDeployment } from "../../lib/deployments/service";
import { runDeployment } from "../../lib/jobs/run-deployment";
import { auditEvents, notifications } from "../../lib/store/schema";
import { environmentsOverview, type OverviewEnvironment } from "../../lib/targets/overview";
import { verifyEnvironment } from "../../lib/verify/snapshots";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";

let c: TestConsole;
beforeAll(async () => {
  // local two behind, staging three behind, production five behind.
  c = await startTestConsole({ local: 7, staging: 6, production: 4 }, { worker: false });
}, 120_000);
afterAll(async () => c?.close());

async function overviewAs(email: string): Promise<Record<string, OverviewEnvironment>> {
  const actor = await c.actor(email);
  const list = await environmentsOverview(c.store.db, c.deps.registry, actor);
  return Object.fromEntries(list.map((e) => [e.name, e]));
}

describe("the Overview", () => {
  it("says nothing it has not read: before any verification run every environment is 'not verified yet'", async () => {
    const o = await overviewAs(EMAIL.engineer);
    expect(Object.keys(o)).toEqual(["local", "staging", "production"]);
    expect(o.local!.status).toBeNull();
    expect(o.local!.last).toBeNull();
    expect(o.local!.running).toBeNull();
  });

  it("shows the current migration, pending count and compliance state each verification recorded", { timeout: 90_000 }, async () => {
    for (const env of ["local", "staging", "production"]) await verifyEnvironment(c.deps, env, "manual");
    const o = await overviewAs(EMAIL.engineer);
    expect(o.local!.status).toMatchObject({ currentVersion: c.catalog.migrations[6]!.tag, pendingCount: 2, reachable: true });
    expect(o.staging!.status).toMatchObject({ currentVersion: c.catalog.migrations[5]!.tag, pendingCount: 3 });
    expect(o.production!.status).toMatchObject({ currentVersion: c.catalog.migrations[3]!.tag, pendingCount: 5 });
    // Before 0007 there is no RLS: the board's RLS group fails, and the Overview names it.
    expect(o.staging!.status!.verification.outcome).toBe("failed");
    expect(o.staging!.status!.verification.failingGroups).toContain("rls-enabled-forced");
    expect(o.staging!.status!.drift).toMatchObject({ drifted: false, objects: [] });
  });

  it("lists what waits on the viewer's role: the release manager's approval, not the author's", async () => {
    const engineer = await c.actor(EMAIL.engineer);
    const d = await createDeployment(c.deps, engineer, { environment: "staging", kind: "apply", to: null });
    expect(d.state).toBe("awaiting_approval");
    const forRelease = await overviewAs(EMAIL.release);
    expect(forRelease.staging!.awaitingMe).toEqual([expect.objectContaining({ id: d.id, action: "approve" })]);
    expect(forRelease.staging!.awaitingMe[0]!.summary).toMatch(/1 more release-manager approval$|1 more release-manager approval and/);
    expect((await overviewAs(EMAIL.engineer)).staging!.awaitingMe).toEqual([]);
    // 0007 enables RLS: the compliance officer is asked to sign off.
    expect((await overviewAs(EMAIL.compliance)).staging!.awaitingMe).toEqual([expect.objectContaining({ id: d.id, action: "signoff" })]);
    const events = await c.store.db.select().from(notifications);
    expect(events.map((n) => n.event).sort()).toEqual(expect.arrayContaining(["approval_needed", "signoff_needed"]));
  });

  it("shows a running deployment with its progress, then the last deployment with who, when and result", { timeout: 90_000 }, async () => {
    const [release, compliance] = [await c.actor(EMAIL.release), await c.actor(EMAIL.compliance)];
    const [waiting] = (await overviewAs(EMAIL.release)).staging!.awaitingMe;
    await approveDeployment(c.deps, release, { id: waiting!.id });
    await signoffDeployment(c.deps, compliance, { id: waiting!.id });
    await enqueueDeployment(c.deps, release, { id: waiting!.id });

    // An application transaction holds a lock 0006 needs: the run waits (retrying) while we look.
    const app = c.targets.staging!.sql;
    const reserved = await app.reserve();
    await reserved`begin`;
    await reserved`lock table public.appointments in access share mode`;
    const run = runDeployment(c.deps, waiting!.id, "test-worker");
    try {
      let running: OverviewEnvironment["running"] = null;
      for (let i = 0; i < 100 && !(running && running.progress.total); i++) {
        running = (await overviewAs(EMAIL.engineer)).staging!.running;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(running).toMatchObject({ id: waiting!.id, state: "running", progress: { done: 0 } });
      expect(running!.progress.total).toBeGreaterThan(0);
    } finally {
      await reserved`rollback`;
      reserved.release();
    }
    await run;
    const after = await overviewAs(EMAIL.engineer);
    expect(after.staging!.running).toBeNull();
    expect(after.staging!.last).toMatchObject({ id: waiting!.id, state: "succeeded", to: c.catalog.latest!.tag, author: { name: "Ana Souza", email: EMAIL.engineer } });
    // The worker's post-apply verification is what moves the recorded version (the caller passes none here).
    await verifyEnvironment(c.deps, "staging", "after-apply", { deploymentId: waiting!.id });
    expect((await overviewAs(EMAIL.engineer)).staging!.status).toMatchObject({ currentVersion: c.catalog.latest!.tag, pendingCount: 0 });
    const succeeded = await c.store.db.select().from(notifications).where(eq(notifications.event, "deployment_succeeded"));
    expect(succeeded).toHaveLength(1);
  });

  it("shows a failed last deployment, and the change by hand that failed it as drift, named", { timeout: 90_000 }, async () => {
    const engineer = await c.actor(EMAIL.engineer);
    const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "apply", to: null });
    // Local needs no approval, but 0007 touches RLS: the compliance officer signs off.
    const d = await signoffDeployment(c.deps, await c.actor(EMAIL.compliance), { id: created.id });
    expect(d.state).toBe("approved");
    await enqueueDeployment(c.deps, engineer, { id: d.id });
    // Someone changes the target by hand between the approval and the run: the plan is stale.
    await c.targets.local!.sql.unsafe("create table public.handmade (id int)");
    await runDeployment(c.deps, d.id, "test-worker");
    let o = await overviewAs(EMAIL.engineer);
    expect(o.local!.last).toMatchObject({ id: d.id, state: "failed" });
    expect((await c.store.db.select().from(notifications).where(eq(notifications.event, "deployment_failed"))).length).toBe(1);

    await verifyEnvironment(c.deps, "local", "schedule");
    o = await overviewAs(EMAIL.engineer);
    expect(o.local!.status!.drift).toMatchObject({ drifted: true, objects: [expect.objectContaining({ object: "table public.handmade", change: "added" })] });
    expect(o.local!.status!.driftSince).not.toBeNull();
    const audited = await c.store.db.select().from(auditEvents).where(and(eq(auditEvents.action, "drift.detected"), eq(auditEvents.subjectId, "local")));
    expect(audited).toHaveLength(1);

    // Seen again on the next run: not audited or notified a second time.
    await verifyEnvironment(c.deps, "local", "schedule");
    expect(await c.store.db.select().from(auditEvents).where(and(eq(auditEvents.action, "drift.detected"), eq(auditEvents.subjectId, "local")))).toHaveLength(1);
    expect(await c.store.db.select().from(notifications).where(eq(notifications.event, "drift_found"))).toHaveLength(1);
  });
});
