/**
 * The deployment flow through the real server actions and route handlers, as each role, against
 * real PostgreSQL targets, a real queue and worker. Only the session is set by the test.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";

vi.mock("next-auth", async (importOriginal) => ({
  ...(await importOriginal<typeof import("next-auth")>()),
  getServerSession: async () => (await import("../support/console")).sessionFromTest(),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {}, revalidateTag: () => {} }));

const actions = await import("../../app/(console)/deployments/actions");
const adminActions = await import("../../app/(console)/admin/actions");
const usersRoute = await import("../../app/api/admin/users/route");
const { readStatus } = await import("../../lib/executor");

let c: TestConsole;
beforeAll(async () => {
  // local two behind, staging three behind, production five behind.
  c = await startTestConsole({ local: 7, staging: 6, production: 4 });
}, 120_000);
afterAll(async () => c?.close());

async function as<T>(email: string, call: () => Promise<T>): Promise<T> {
  await c.signedInAs(email);
  return call();
}

async function waitForState(id: string, states: string[], timeoutMs = 20_000) {
  const { deployments } = await import("../../lib/store/schema");
  const { eq } = await import("drizzle-orm");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
    if (states.includes(row!.state)) return row!;
    if (Date.now() > deadline) throw new Error(`deployment stayed ${row!.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("who may do what: the server refuses, whatever the UI shows", () => {
  type Outcome = { ok: boolean; error?: { status: number; message: string } };
  /**
   * Each action with real subjects, so an allowed role gets past the role check into the lib call;
   * `allowed` roles must never see a role refusal or a server error, the others a 403 naming the
   * role, with nothing changed in the store.
   */
  it("refuses every role-restricted action to the roles without it, changing nothing; the roles with it reach the action", async () => {
    const { storeCounts } = await import("../support/console");
    const local = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "local", to: c.catalog.migrations[7]!.tag }));
    const staging = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging", to: c.catalog.migrations[6]!.tag }));
    const [localId, stagingId] = [local.ok ? local.data.id : "", staging.ok ? staging.data.id : ""];
    const engineerId = (await c.actor(EMAIL.engineer)).id;
    const matrix: [string, () => Promise<Outcome>, string[]][] = [
      ["create deployment", () => actions.createDeploymentAction({ environment: "local" }), ["engineer", "release_manager"]],
      ["sign off", () => actions.signoffDeploymentAction({ id: localId }), ["compliance_officer"]],
      ["reject", () => actions.rejectDeploymentAction({ id: crypto.randomUUID(), reason: "no" }), ["release_manager", "compliance_officer"]],
      ["apply", () => actions.applyDeploymentAction({ id: stagingId }), ["engineer", "release_manager"]],
      ["approve", () => actions.approveDeploymentAction({ id: stagingId }), ["release_manager"]],
      ["replan", () => actions.replanDeploymentAction({ id: stagingId }), ["engineer", "release_manager"]],
      ["roll back", () => actions.rollbackDeploymentAction({ id: localId }), ["engineer", "release_manager"]],
      ["cancel", () => actions.cancelDeploymentAction({ id: crypto.randomUUID() }), ["engineer", "release_manager"]],
      ["add user", () => adminActions.createUserAction({ email: `x-${crypto.randomUUID().slice(0, 8)}@demo.local`, name: "X", role: "engineer" }), ["admin"]],
      ["change role", () => adminActions.changeRoleAction({ userId: engineerId, role: "engineer" }), ["admin"]],
      ["deactivate", () => adminActions.setActiveAction({ userId: crypto.randomUUID(), isActive: false }), ["admin"]],
    ];
    const roles: Record<string, string> = { engineer: EMAIL.engineer, release_manager: EMAIL.release, compliance_officer: EMAIL.compliance, admin: EMAIL.admin };
    for (const [name, call, allowed] of matrix) {
      for (const [role, email] of Object.entries(roles)) {
        await c.signedInAs(email);
        const before = await storeCounts(c);
        const result = await call();
        if (allowed.includes(role)) {
          expect(result.ok || result.error!.status < 500, `${role} may ${name}: ${JSON.stringify(result)}`).toBe(true);
          expect(result.error?.message ?? "", `${role} may ${name}`).not.toMatch(/^This needs the/);
          expect(result.error?.status, `${role} may ${name}`).not.toBe(401);
        } else {
          expect(result, `${role} must not ${name}`).toMatchObject({ ok: false, error: { status: 403 } });
          expect(result.error!.message).toMatch(/^This needs the .* role; you are signed in as/);
          expect(await storeCounts(c), `${role} must not ${name}: nothing changed`).toEqual(before);
        }
      }
    }
    for (const id of [localId, stagingId]) await as(EMAIL.release, () => actions.cancelDeploymentAction({ id }));
  }, 120_000);

  it("refuses a signed-out caller with 401, and the admin route handler to an engineer with 403, changing nothing", async () => {
    const { storeCounts } = await import("../support/console");
    const before = await storeCounts(c);
    await c.signedInAs(null);
    expect(await actions.createDeploymentAction({ environment: "local" })).toMatchObject({ ok: false, error: { status: 401 } });
    await c.signedInAs(EMAIL.engineer);
    const res = await usersRoute.POST(new Request("http://x/api/admin/users", { method: "POST", body: JSON.stringify({ email: "y@demo.local", name: "Y", role: "admin" }) }));
    expect(res.status).toBe(403);
    expect(await storeCounts(c)).toEqual(before);
  });
});

describe("promotion", () => {
  it("refuses at creation a production deployment of migrations that staging has not applied yet, with the reason and code promotion", async () => {
    const refused = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "production" }));
    expect(refused).toMatchObject({ ok: false, error: { code: "promotion", status: 403 } });
    expect(refused.ok ? "" : refused.error.message).toMatch(/Production only takes migrations already applied on Staging; not yet there: 0006_appointment_overlap, 0007_row_level_security, 0008_performance_indexes/);
    expect(refused.ok ? "" : refused.error.hint).toMatch(/Deploy these migrations to the upstream environment first/);
    const { deployments, auditEvents } = await import("../../lib/store/schema");
    const { eq } = await import("drizzle-orm");
    const envs = await c.store.db.select().from(deployments);
    expect(envs.filter((d) => d.plan.environment === "production")).toHaveLength(0);
    const audited = await c.store.db.select().from(auditEvents).where(eq(auditEvents.action, "deployment.refused"));
    expect(audited.some((e) => e.subjectId === "production" && (e.details as { code: string }).code === "promotion")).toBe(true);
  });
});

describe("a staging deployment", () => {
  let id: string;

  it("is planned on creation and waits for a release manager", async () => {
    const created = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging" }));
    expect(created.ok, JSON.stringify(created)).toBe(true);
    id = created.ok ? created.data.id : "";
    const { deploymentView } = await import("../../lib/deployments/service");
    const view = await deploymentView(c.deps, await c.actor(EMAIL.engineer), id);
    expect(view.deployment.state).toBe("awaiting_approval");
    expect(view.deployment.plan.migrations.map((m) => m.tag)).toEqual(c.catalog.migrations.slice(6).map((m) => m.tag));
    expect(view.deployment.plan.rehearsal.ok).toBe(true);
    expect(view.deployment.plan.schemaDiff!.changes.length).toBeGreaterThan(0);
    // RLS and policies change: the compliance officer must sign off.
    expect(view.progress.compliance.required).toBe(true);
  });

  it("cannot be approved by its author, even one who is a release manager", async () => {
    const own = await as(EMAIL.release, () => actions.createDeploymentAction({ environment: "staging", to: c.catalog.migrations[6]!.tag }));
    expect(own.ok).toBe(true);
    const refused = await as(EMAIL.release, () => actions.approveDeploymentAction({ id: own.ok ? own.data.id : "" }));
    expect(refused).toMatchObject({ ok: false, error: { status: 403, message: "You created this deployment; someone else must approve it." } });
    await as(EMAIL.release, () => actions.cancelDeploymentAction({ id: own.ok ? own.data.id : "" }));
  });

  it("is refused when the plan went stale after approval, and runs once recomputed and re-approved", async () => {
    expect((await as(EMAIL.release, () => actions.approveDeploymentAction({ id }))).ok).toBe(true);
    expect((await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id }))).ok).toBe(true);

    // Someone changes staging by hand after the approvals.
    await c.targets.staging!.sql`create table public.hand_made (id int)`;
    const stale = await as(EMAIL.release, () => actions.applyDeploymentAction({ id }));
    expect(stale).toMatchObject({ ok: false, error: { status: 409 } });
    expect(stale.ok ? "" : stale.error.message).toMatch(/The plan is stale/);

    await as(EMAIL.engineer, () => actions.replanDeploymentAction({ id }));
    const again = await as(EMAIL.release, () => actions.applyDeploymentAction({ id }));
    expect(again.ok ? "" : again.error.message).toMatch(/Waiting for 1 more release-manager approval/);
    expect((await as(EMAIL.release, () => actions.approveDeploymentAction({ id }))).ok).toBe(true);
    expect((await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id }))).ok).toBe(true);
    await c.targets.staging!.sql`drop table public.hand_made`;
    await as(EMAIL.engineer, () => actions.replanDeploymentAction({ id }));
    await as(EMAIL.release, () => actions.approveDeploymentAction({ id }));
    await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id }));
    const queued = await as(EMAIL.release, () => actions.applyDeploymentAction({ id }));
    expect(queued.ok, JSON.stringify(queued)).toBe(true);

    const done = await waitForState(id, ["succeeded", "failed"]);
    expect(done.state).toBe("succeeded");
    expect((await readStatus(c.targets.staging!.url, c.catalog)).pending).toEqual([]);
  }, 120_000);

  it("is verified right after the apply, and then production may take the same migrations", async () => {
    const { deployments } = await import("../../lib/store/schema");
    const { eq } = await import("drizzle-orm");
    const deadline = Date.now() + 20_000;
    let verification: string | null = null;
    while (!verification && Date.now() < deadline) {
      [{ verification }] = (await c.store.db.select({ verification: deployments.verification }).from(deployments).where(eq(deployments.id, id))) as [{ verification: string | null }];
      if (!verification) await new Promise((r) => setTimeout(r, 200));
    }
    expect(verification).toBe("passed");

    const created = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "production" }));
    const pid = created.ok ? created.data.id : "";
    await as(EMAIL.release, () => actions.approveDeploymentAction({ id: pid }));
    await as(EMAIL.release2, () => actions.approveDeploymentAction({ id: pid }));
    await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id: pid }));
    const queued = await as(EMAIL.release, () => actions.applyDeploymentAction({ id: pid }));
    expect(queued.ok, JSON.stringify(queued)).toBe(true);
    expect((await waitForState(pid, ["succeeded", "failed"])).state).toBe("succeeded");
  }, 120_000);
});

describe("exclusivity", () => {
  it("never queues or runs two deployments on one environment at once", async () => {
    const first = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "local", to: c.catalog.migrations[7]!.tag }));
    const second = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "local" }));
    const [a, b] = [first.ok ? first.data.id : "", second.ok ? second.data.id : ""];
    for (const id of [a, b]) expect((await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id }))).ok).toBe(true);

    await c.signedInAs(EMAIL.engineer);
    const results = await Promise.all([actions.applyDeploymentAction({ id: a }), actions.applyDeploymentAction({ id: b })]);
    // Whichever came second is refused: either while the first is queued or running, or because
    // the first already moved the target and its plan no longer holds.
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.ok ? "" : refused[0]!.error.message).toMatch(/already queued or running on Local|plan is stale/);

    const winner = results[0]!.ok ? a : b;
    expect((await waitForState(winner, ["succeeded", "failed"])).state).toBe("succeeded");
    const { runs, deployments } = await import("../../lib/store/schema");
    const { eq, inArray } = await import("drizzle-orm");
    const ran = await c.store.db.select().from(runs).where(inArray(runs.deploymentId, [a, b]));
    expect(ran).toHaveLength(1);
    const [loser] = await c.store.db.select().from(deployments).where(eq(deployments.id, winner === a ? b : a));
    expect(loser!.state).toBe("approved");
  }, 120_000);
});
