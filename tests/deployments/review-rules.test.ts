/**
 * The rules of issue 9 (4a–4i) through the real server actions and route handlers, as each role,
 * on real PostgreSQL targets: idempotent create, promotion at creation, stale plans, plan
 * revisions, who applied, compliance for drift, comments and the timeline, the risk summary,
 * deployments by number. Only the session is set by the test.
 */
import fs from "node:fs";
import path from "node:path";
import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";

vi.mock("next-auth", async (importOriginal) => ({
  ...(await importOriginal<typeof import("next-auth")>()),
  getServerSession: async () => (await import("../support/console")).sessionFromTest(),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {}, revalidateTag: () => {} }));
// Each test plans (and some apply) on real servers shared with every other test file: generous bounds.
vi.setConfig({ testTimeout: 120_000 });

const actions = await import("../../app/(console)/deployments/actions");
const logRoute = await import("../../app/api/deployments/[id]/log/route");
const service = await import("../../lib/deployments/service");
const { DEPLOYMENT_STATE_GROUPS } = await import("../../lib/deployments/lifecycle");
const { approvals, auditEvents, deployments } = await import("../../lib/store/schema");
const { readLedger } = await import("../../lib/ledger");
const { loadCatalog } = await import("../../lib/migrations");
const { addMigration, copyOfFolder, removeFixtureFolders, statements } = await import("../executor/support");

let c: TestConsole;
beforeAll(async () => {
  // local: RLS applied (0007), 0008 pending. staging: 0006–0008 pending. production far behind.
  c = await startTestConsole({ local: 8, staging: 6, production: 4 }, { worker: true });
}, 120_000);
afterAll(async () => {
  await c?.close();
  removeFixtureFolders();
});

async function as<T>(email: string, call: () => Promise<T>): Promise<T> {
  await c.signedInAs(email);
  return call();
}

type R = { ok: boolean; data?: unknown; error?: { code: string; message: string; hint?: string; status: number } };
const idOf = (r: R) => {
  expect(r.ok, JSON.stringify(r)).toBe(true);
  return (r.data as { id: string }).id;
};

async function cancel(id: string) {
  expect((await as(EMAIL.release, () => actions.cancelDeploymentAction({ id }))).ok).toBe(true);
}

describe("state groups", () => {
  it("are the ones the database's partial unique indexes spell in SQL", async () => {
    const rows = await c.store.db.execute<{ indexname: string; indexdef: string }>(
      sql`select indexname, indexdef from pg_indexes where tablename = 'deployments' and indexname in ('deployments_one_active_per_environment', 'deployments_one_open_per_target')`,
    );
    const states = (name: string) => [...rows.find((r) => r.indexname === name)!.indexdef.matchAll(/'(\w+)'/g)].map((m) => m[1]).sort();
    expect(states("deployments_one_active_per_environment")).toEqual([...DEPLOYMENT_STATE_GROUPS.active].sort());
    expect(states("deployments_one_open_per_target")).toEqual([...DEPLOYMENT_STATE_GROUPS.open, ...DEPLOYMENT_STATE_GROUPS.active].sort());
  });
});

describe("one writer", () => {
  it("nothing outside lib/deployments/lifecycle.ts writes the deployments, approvals, runs or run_events tables", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(rel);
        else if (/\.tsx?$/.test(entry.name) && rel !== path.join("lib", "deployments", "lifecycle.ts")) {
          const text = fs.readFileSync(path.join(root, rel), "utf8");
          if (/\.(insert|update|delete)\((deployments|approvals|runs|runEvents)\)/.test(text)) offenders.push(rel);
        }
      }
    };
    for (const dir of ["lib", "app", "cli", "scripts", "components"]) walk(dir);
    expect(offenders).toEqual([]);
  });
});

describe("4a: creating is idempotent", () => {
  it("gives three concurrent creates one deployment, the same id to each, and says which found it open", async () => {
    await c.signedInAs(EMAIL.engineer);
    const results = await Promise.all([0, 1, 2].map(() => actions.createDeploymentAction({ environment: "staging" })));
    const data = results.map((r) => (expect(r.ok, JSON.stringify(r)).toBe(true), r.ok ? r.data : null)!);
    expect(new Set(data.map((d) => d.id)).size).toBe(1);
    expect(data.filter((d) => !d.existing)).toHaveLength(1);
    const rows = await c.store.db.select().from(deployments).where(eq(deployments.id, data[0]!.id));
    expect(rows).toHaveLength(1);
    const open = (await c.store.db.select().from(deployments)).filter((d) => d.plan.environment === "staging" && d.targetTag === c.catalog.latest!.tag);
    expect(open).toHaveLength(1);

    // A repeated click later, and the same target named explicitly, return it too.
    const again = await as(EMAIL.release, () => actions.createDeploymentAction({ environment: "staging", to: c.catalog.latest!.tag }));
    expect(again).toMatchObject({ ok: true, data: { id: data[0]!.id, existing: true } });
    // Another target migration is another deployment.
    const other = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging", to: c.catalog.migrations[6]!.tag }));
    expect(idOf(other)).not.toBe(data[0]!.id);
    await cancel(idOf(other));

    // Once it is finished (cancelled), a new one can be opened.
    await cancel(data[0]!.id);
    const fresh = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging" }));
    expect(fresh).toMatchObject({ ok: true, data: { existing: false } });
    expect(idOf(fresh)).not.toBe(data[0]!.id);
    await cancel(idOf(fresh));
  });

  it("is enforced by the database, not only by the code", async () => {
    const [one] = await c.store.db.select().from(deployments).limit(1);
    const { id: _id, number: _n, ...copy } = one!;
    await c.store.db.update(deployments).set({ state: "awaiting_approval" }).where(eq(deployments.id, one!.id));
    await expect(c.store.db.insert(deployments).values({ ...copy, state: "approved" })).rejects.toMatchObject({ cause: { code: "23505" } });
    await c.store.db.update(deployments).set({ state: "cancelled" }).where(eq(deployments.id, one!.id));
  });
});

describe("4b: blocked before anyone works", () => {
  it("refuses a production deployment that promotion forbids at creation, with the reason and code promotion", async () => {
    const refused = (await as(EMAIL.release, () => actions.createDeploymentAction({ environment: "production" }))) as R;
    expect(refused).toMatchObject({ ok: false, error: { code: "promotion", status: 403 } });
    expect(refused.error!.message).toMatch(/^Production only takes migrations already applied on Staging; not yet there: /);
    expect((await c.store.db.select().from(deployments)).filter((d) => d.plan.environment === "production")).toHaveLength(0);
  });

  it("shows a plan whose rehearsal failed as blocked at the top, and nobody can approve it", async () => {
    const dir = copyOfFolder();
    addMigration(dir, { tag: "0009_broken", when: c.catalog.latest!.when + 1000, up: statements(`SELECT 1 / 0`), down: statements(`SELECT 1`) });
    const broken = await loadCatalog(dir);
    const deps = { ...c.deps, catalog: async () => broken };
    const d = await service.createDeployment(deps, await c.actor(EMAIL.engineer), { environment: "local", to: "0009_broken" });
    expect(d.plan.rehearsal.ok).toBe(false);
    const view = await service.deploymentView(deps, await c.actor(EMAIL.release), d.id);
    expect(view.blocking[0]).toMatchObject({ kind: "rehearsal_failed", title: "Blocked: the rehearsal failed" });
    expect(view.blocking[0]!.reasons.join(" ")).toMatch(/division by zero/);
    expect(view.decisions.approve).toMatchObject({ allowed: false, reason: "The rehearsal failed: fix the migration and recompute the plan." });
    await expect(service.approveDeployment(deps, await c.actor(EMAIL.release), { id: d.id })).rejects.toThrow(/The rehearsal failed/);
    await service.cancelDeployment(deps, await c.actor(EMAIL.engineer), { id: d.id });
  });
});

describe("4c: approve and sign-off recompute the plan's basis", () => {
  it("refuses a stale plan at approve and at sign-off with stale_plan, audits the refusals, and the page says stale", async () => {
    const id = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging" })));
    expect((await service.deploymentView(c.deps, await c.actor(EMAIL.release), id)).stale).toBe(false);

    // A pending migration file is edited after the plan was made.
    const dir = copyOfFolder();
    fs.appendFileSync(path.join(dir, `${c.catalog.latest!.tag}.sql`), "\n-- edited after planning\n");
    const edited = await loadCatalog(dir);
    const deps = { ...c.deps, catalog: async () => edited };
    const view = await service.deploymentView(deps, await c.actor(EMAIL.release), id);
    expect(view.stale).toBe(true);
    expect(view.blocking.map((b) => b.kind)).toContain("stale_plan");
    expect(view.decisions.approve).toMatchObject({ allowed: false, reason: expect.stringMatching(/^The plan is stale/) });
    await expect(service.approveDeployment(deps, await c.actor(EMAIL.release), { id })).rejects.toMatchObject({ code: "stale_plan", message: expect.stringMatching(/^The plan is stale/) });
    await expect(service.signoffDeployment(deps, await c.actor(EMAIL.compliance), { id })).rejects.toMatchObject({ code: "stale_plan" });

    // The target changes under the plan: the server actions refuse the same way, with what to do.
    await c.targets.staging!.sql`create table public.stale_maker (id int)`;
    try {
      const approve = (await as(EMAIL.release, () => actions.approveDeploymentAction({ id }))) as R;
      expect(approve).toMatchObject({ ok: false, error: { code: "stale_plan", status: 409 } });
      expect(approve.error!.message).toMatch(/^The plan is stale/);
      expect(approve.error!.hint).toMatch(/Recompute the plan/);
      const signoff = (await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id }))) as R;
      expect(signoff).toMatchObject({ ok: false, error: { code: "stale_plan" } });
    } finally {
      await c.targets.staging!.sql`drop table public.stale_maker`;
    }

    // In the order they were written (without ORDER BY the heap's order came back once).
    const events = await c.store.db.select().from(auditEvents).where(eq(auditEvents.subjectId, id)).orderBy(asc(auditEvents.id));
    const refusals = events.filter((e) => e.action === "deployment.refused").map((e) => e.details as { attempted: string; code: string });
    expect(refusals).toEqual([
      expect.objectContaining({ attempted: "approve", code: "stale_plan" }),
      expect.objectContaining({ attempted: "signoff", code: "stale_plan" }),
      expect.objectContaining({ attempted: "approve", code: "stale_plan" }),
      expect.objectContaining({ attempted: "signoff", code: "stale_plan" }),
    ]);
    expect(await c.store.db.select().from(approvals).where(eq(approvals.deploymentId, id))).toHaveLength(0);
    await cancel(id);
  });
});

describe("4d: a voided approval never counts again", () => {
  it("stays void when a later plan has the same hash again (the target changed, then changed back)", async () => {
    const id = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging", to: c.catalog.migrations[6]!.tag })));
    expect((await as(EMAIL.release, () => actions.approveDeploymentAction({ id, comment: "looks fine" }))).ok).toBe(true);
    const [first] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
    expect(first).toMatchObject({ state: "approved", planRevision: 1 });

    await c.targets.staging!.sql`create table public.hand_made (id int)`;
    await as(EMAIL.engineer, () => actions.replanDeploymentAction({ id }));
    await c.targets.staging!.sql`drop table public.hand_made`;
    await as(EMAIL.engineer, () => actions.replanDeploymentAction({ id }));

    const [reverted] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
    expect(reverted!.planHash).toBe(first!.planHash);
    expect(reverted).toMatchObject({ planRevision: 3, state: "awaiting_approval" });
    const view = await service.deploymentView(c.deps, await c.actor(EMAIL.release), id);
    expect(view.progress.releaseApprovals.have).toBe(0);
    expect(view.approvals).toEqual([expect.objectContaining({ planRevision: 1, current: false })]);
    const apply = (await as(EMAIL.release, () => actions.applyDeploymentAction({ id }))) as R;
    expect(apply.error?.message).toMatch(/Waiting for 1 more release-manager approval/);
    // The same person may approve the new revision.
    expect((await as(EMAIL.release, () => actions.approveDeploymentAction({ id }))).ok).toBe(true);
    await cancel(id);
  });
});

describe("4e, 4g: who applied, comments and the timeline", () => {
  it("names the release manager who started the apply in the target's history, with the author apart", async () => {
    const id = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging", to: c.catalog.migrations[6]!.tag })));
    expect((await as(EMAIL.release, () => actions.approveDeploymentAction({ id, comment: "Exclusion constraint reviewed with the clinic team." }))).ok).toBe(true);

    const noReason = (await as(EMAIL.compliance, () => actions.rejectDeploymentAction({ id, reason: "" }))) as R;
    expect(noReason).toMatchObject({ ok: false, error: { code: "invalid_input", status: 400 } });

    const queued = await as(EMAIL.release2, () => actions.applyDeploymentAction({ id }));
    expect(queued.ok, JSON.stringify(queued)).toBe(true);
    const deadline = Date.now() + 90_000;
    let state = "";
    while (!["succeeded", "failed"].includes(state) && Date.now() < deadline) {
      [{ state }] = (await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, id))) as [{ state: string }];
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toBe("succeeded");

    const ledger = await readLedger(c.targets.staging!.sql);
    const row = ledger.history.find((h) => h.tag === c.catalog.migrations[6]!.tag && h.direction === "up")!;
    expect(row.actor).toMatch(/^release2@demo\.local via deployment #\d+, opened by engineer@demo\.local$/);
    const people = await service.runPeople(c.store.db, [row.runId]);
    const engineer = await c.actor(EMAIL.engineer);
    const release2 = await c.actor(EMAIL.release2);
    expect(people.get(row.runId)).toMatchObject({ startedBy: release2.name, author: engineer.name });

    const view = await service.deploymentView(c.deps, engineer, id);
    expect(view.startedBy?.email).toBe(EMAIL.release2);
    expect(view.author.email).toBe(EMAIL.engineer);
    const timeline = view.timeline.map((t) => [t.actor, t.action, t.details.comment ?? null]);
    expect(timeline).toEqual(
      expect.arrayContaining([
        [EMAIL.engineer, "deployment.created", null],
        [EMAIL.release, "deployment.approved", "Exclusion constraint reviewed with the clinic team."],
        [EMAIL.release2, "deployment.queued", null],
      ]),
    );
  });

  it("requires a reason to reject and shows it in the timeline and the audit log", async () => {
    const id = idOf(await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging" })));
    expect((await as(EMAIL.compliance, () => actions.rejectDeploymentAction({ id, reason: "Consent text not reviewed by the DPO." }))).ok).toBe(true);
    const view = await service.deploymentView(c.deps, await c.actor(EMAIL.engineer), id);
    expect(view.timeline.at(-1)).toMatchObject({ actor: EMAIL.compliance, action: "deployment.rejected", details: { comment: "Consent text not reviewed by the DPO." } });
  });
});

describe("4f: drift that compliance must see", () => {
  it("requires compliance sign-off when the live target's RLS on patients was disabled by hand, and says why", async () => {
    await c.targets.local!.sql`alter table public.patients disable row level security`;
    try {
      const d = await service.createDeployment(c.deps, await c.actor(EMAIL.engineer), { environment: "local" });
      expect(d.plan.drift.drifted).toBe(true);
      expect(d.plan.requiresComplianceSignoff).toBe(true);
      expect(d.risk!.complianceReasons).toContain("Drift: public.patients loses row level security on the target, outside the console.");
      const view = await service.deploymentView(c.deps, await c.actor(EMAIL.engineer), d.id);
      expect(view.progress.compliance.required).toBe(true);
      expect(view.decisions.apply.allowed).toBe(false);
      await service.cancelDeployment(c.deps, await c.actor(EMAIL.engineer), { id: d.id });
    } finally {
      await c.targets.local!.sql`alter table public.patients enable row level security`;
    }
  });

  it("does not ask for it when the drift touches nothing regulated", async () => {
    const { driftComplianceReasons } = await import("../../lib/plan/compliance");
    const column = (type: string) => ({ schema: "public", table: "patients", name: "cpf", position: 3, type, notNull: true, default: null, identity: null, generated: null, collation: null });
    const policy = (using: string) => ({ schema: "public", table: "patients", name: "tenant_select", permissive: true, command: "SELECT", roles: ["app_user"], using, withCheck: null });
    const change = (section: string, key: string, fields: string[], before: object, after: object) => ({ section, key, change: "changed", fields, before, after }) as never;
    const diff = (...changes: never[]) => ({ diff: { changes, text: "", counts: { added: 0, removed: 0, changed: changes.length } } });
    const index = { schema: "public", table: "clinics", name: "clinics_name_idx", definition: "CREATE INDEX …", unique: false, primary: false, constraint: null, valid: true, ready: true };
    expect(driftComplianceReasons(diff(change("indexes", "public/clinics/clinics_name_idx", ["definition"], index, { ...index, definition: "CREATE INDEX … (lower(name))" })))).toEqual([]);
    const tenant = "(clinic_id = (NULLIF(current_setting('app.current_clinic_id'::text, true), ''::text))::uuid)";
    expect(
      driftComplianceReasons(
        diff(
          change("columns", "public/patients/cpf", ["type"], column("text"), column("character varying(14)")),
          change("policies", "public/patients/tenant_select", ["using"], policy(tenant), policy(`(${tenant} AND true)`)),
        ),
      ),
    ).toEqual([
      "Drift: public.patients.cpf (tagged [ID] identifier) changes type from text to character varying(14) on the target, outside the console.",
      "Drift: Policy tenant_select on public.patients changes on the target, outside the console: its using changes.",
    ]);
  });
});

describe("4h: the risk summary", () => {
  it("names each statement that takes ACCESS EXCLUSIVE or SHARE on a table holding rows, and the highest severity", async () => {
    await c.targets.staging!.sql`insert into public.clinics (name, cnpj) values ('Clínica Risco', '11222333000181')`;
    const d = await service.createDeployment(c.deps, await c.actor(EMAIL.engineer), { environment: "staging" });
    const risk = d.risk!;
    expect(risk.highestSeverity).toBeTruthy();
    const tables = new Set(risk.heavyLocks.map((l) => l.table));
    expect(tables.has("public.clinics")).toBe(true);
    // Tables without rows on staging are not listed, however strong the lock.
    expect(tables.has("public.patients")).toBe(false);
    expect(risk.heavyLocks.every((l) => ["ACCESS EXCLUSIVE", "SHARE"].includes(l.lockLevel))).toBe(true);
    expect(risk.complianceReasons.length).toBeGreaterThan(0);
    await service.cancelDeployment(c.deps, await c.actor(EMAIL.engineer), { id: d.id });
  });
});

describe("4i: deployments open by number", () => {
  it("finds a deployment by its number and answers an unknown one with not found, never a 500", async () => {
    const [d] = await c.store.db.select().from(deployments).limit(1);
    const viewer = await c.actor(EMAIL.compliance);
    expect((await service.deploymentView(c.deps, viewer, String(d!.number))).deployment.id).toBe(d!.id);
    expect((await service.deploymentView(c.deps, viewer, `#${d!.number}`)).deployment.id).toBe(d!.id);
    for (const unknown of ["999999", crypto.randomUUID(), "not-a-deployment", "1;drop table x"]) {
      await expect(service.deploymentView(c.deps, viewer, unknown)).rejects.toMatchObject({ code: "not_found" });
    }
    await c.signedInAs(EMAIL.compliance);
    const byNumber = await logRoute.GET(new Request(`http://x/api/deployments/${d!.number}/log`), { params: Promise.resolve({ id: String(d!.number) }) });
    expect(byNumber.status).toBe(200);
    const missing = await logRoute.GET(new Request("http://x/api/deployments/424242/log"), { params: Promise.resolve({ id: "424242" }) });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ ok: false, error: { code: "not_found", message: "There is no deployment #424242." } });
  });
});
