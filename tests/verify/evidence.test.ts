/**
 * The evidence an auditor takes away, downloaded through the route handlers as each role: the
 * bundle zip is checked with `sha256sum -c SHA256SUMS`, its file list is complete, and its contents
 * match the store (deployments, approvers and plan hashes, verification runs of the period, the
 * audit chain's verification). The audit export is checked the same way.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { unzipSync, strFromU8 } from "fflate";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EMAIL, startTestConsole, storeCounts, waitForDeployment, type TestConsole } from "../support/console";

vi.mock("next-auth", async (importOriginal) => ({
  ...(await importOriginal<typeof import("next-auth")>()),
  getServerSession: async () => (await import("../support/console")).sessionFromTest(),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {}, revalidateTag: () => {} }));

const actions = await import("../../app/(console)/deployments/actions");
const compliance = await import("../../app/(console)/compliance/actions");
const evidenceRoute = await import("../../app/api/compliance/export/route");
const auditRoute = await import("../../app/api/audit/export/route");
const { formatDate, nextDay, zonedDayStart } = await import("../../lib/format");

const { loadTimeZone } = await import("../../lib/config/env");

// Periods are whole days in the console's time zone: "today" is that zone's (at 00:30 UTC, São Paulo is still on the day before).
const TIME_ZONE = loadTimeZone(process.env);
const today = formatDate(new Date(), TIME_ZONE);
const daysAgo = (n: number) => formatDate(new Date(Date.now() - n * 86_400_000), TIME_ZONE);
const todayStart = zonedDayStart(today, TIME_ZONE).toISOString();
const FILES = ["SHA256SUMS", "audit.json", "backups.json", "deployments.json", "manifest.json", "report.html", "signature.json", "verification.json"];

let c: TestConsole;
let deploymentId: string;
const folders: string[] = [];

beforeAll(async () => {
  c = await startTestConsole({ local: 7, staging: 7 });
  const as = async <T>(email: string, call: () => Promise<T>) => {
    await c.signedInAs(email);
    return call();
  };
  const created = await as(EMAIL.engineer, () => actions.createDeploymentAction({ environment: "staging" }));
  deploymentId = created.ok ? created.data.id : "";
  // One approval on a plan that is then recomputed (void), then the approvals that count.
  await as(EMAIL.release, () => actions.approveDeploymentAction({ id: deploymentId, comment: "first look" }));
  await c.targets.staging!.sql`create table public.scratch (id int)`;
  await as(EMAIL.engineer, () => actions.replanDeploymentAction({ id: deploymentId }));
  await as(EMAIL.release2, () => actions.approveDeploymentAction({ id: deploymentId }));
  await as(EMAIL.compliance, () => actions.signoffDeploymentAction({ id: deploymentId, comment: "RLS reviewed" }));
  const queued = await as(EMAIL.release, () => actions.applyDeploymentAction({ id: deploymentId }));
  if (!queued.ok) throw new Error(JSON.stringify(queued));
  await waitForDeployment(c, deploymentId, ["succeeded"], 60_000);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await c.store.sql`select 1 from verification_snapshots where deployment_id = ${deploymentId}`).length === 0) await new Promise((r) => setTimeout(r, 100));
  await as(EMAIL.compliance, () => compliance.runVerificationAction({ environment: "staging" }));
  // A verification run and an older deployment outside the period asked for below.
  await as(EMAIL.compliance, () => compliance.runVerificationAction({ environment: "staging" }));
  await c.store.sql`update verification_snapshots set created_at = now() - interval '10 days' where id = (select id from verification_snapshots order by created_at desc limit 1)`;
}, 180_000);
afterAll(async () => {
  await c?.close();
  for (const dir of folders) fs.rmSync(dir, { recursive: true, force: true });
});

async function download(email: string | null, query: Record<string, string>) {
  await c.signedInAs(email);
  return evidenceRoute.GET(new Request(`http://x/api/compliance/export?${new URLSearchParams(query)}`));
}

/** Unzips the bundle into a folder of its own, as an auditor would. */
async function unpack(res: Response): Promise<{ dir: string; files: Record<string, string>; zip: Uint8Array }> {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/zip");
  const zip = new Uint8Array(await res.arrayBuffer());
  const entries = unzipSync(zip);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-evidence-"));
  folders.push(dir);
  const files: Record<string, string> = {};
  for (const [name, data] of Object.entries(entries)) {
    fs.writeFileSync(path.join(dir, name), data);
    files[name] = strFromU8(data);
  }
  return { dir, files, zip };
}

const sha256sumCheck = (dir: string) =>
  promisify(execFile)("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, timeout: 10_000 }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
  );

describe("the evidence bundle", () => {
  it("verifies with sha256sum -c, lists every file, and matches the store", async () => {
    const { dir, files, zip } = await unpack(await download(EMAIL.compliance, { environment: "staging", from: today, to: today }));

    expect(Object.keys(files).sort()).toEqual(FILES);
    const check = await sha256sumCheck(dir);
    expect(check.code, check.out).toBe(0);
    // Every file but SHA256SUMS itself and the signature over all of them is covered, each once.
    expect(check.out.trim().split("\n").sort()).toEqual(FILES.filter((f) => f !== "SHA256SUMS" && f !== "signature.json").map((f) => `${f}: OK`));
    const manifest = JSON.parse(files["manifest.json"]!) as { environment: string; period: { from: string; to: string }; generatedBy: string; files: { name: string; bytes: number; sha256: string }[] };
    expect(manifest).toMatchObject({ environment: "staging", period: { from: today, to: today }, generatedBy: EMAIL.compliance });
    expect(manifest.files.map((f) => f.name).sort()).toEqual(["audit.json", "backups.json", "deployments.json", "report.html", "verification.json"]);
    for (const f of manifest.files) {
      expect(f.sha256).toBe(createHash("sha256").update(fs.readFileSync(path.join(dir, f.name))).digest("hex"));
      expect(f.bytes).toBe(fs.statSync(path.join(dir, f.name)).size);
    }

    // Deployments, approvers and the plan hash they approved, as the store has them.
    const { deployments } = JSON.parse(files["deployments.json"]!) as { deployments: { id: string; number: number; state: string; planHash: string; createdBy: string; approvals: { kind: string; by: string; planHash: string; comment: string | null; validForFinalPlan: boolean }[] }[] };
    const stored = await c.store.sql<{ id: string; number: number; state: string; plan_hash: string }[]>`
      select d.id, d.number, d.state, d.plan_hash from deployments d join environments e on e.id = d.environment_id where e.name = 'staging' order by d.number`;
    expect(deployments.map((d) => ({ id: d.id, number: d.number, state: d.state, plan_hash: d.planHash }))).toEqual(stored.map((r) => ({ ...r, number: Number(r.number) })));
    const ours = deployments.find((d) => d.id === deploymentId)!;
    expect(ours).toMatchObject({ state: "succeeded", createdBy: EMAIL.engineer });
    const approvals = await c.store.sql<{ email: string; kind: string; plan_hash: string; comment: string | null }[]>`
      select u.email, a.kind, a.plan_hash, a.comment from approvals a join users u on u.id = a.user_id where a.deployment_id = ${deploymentId} order by a.created_at`;
    expect(ours.approvals.map((a) => ({ email: a.by, kind: a.kind, plan_hash: a.planHash, comment: a.comment }))).toEqual(approvals);
    expect(ours.approvals.map((a) => [a.by, a.validForFinalPlan])).toEqual([
      [EMAIL.release, false],
      [EMAIL.release2, true],
      [EMAIL.compliance, true],
    ]);
    expect(ours.approvals.filter((a) => a.validForFinalPlan).every((a) => a.planHash === ours.planHash)).toBe(true);

    // Verification runs of the period only: the one moved ten days back is not in today's bundle.
    const { runs } = JSON.parse(files["verification.json"]!) as { runs: { id: string; trigger: string; outcome: string }[] };
    const todays = await c.store.sql<{ id: string }[]>`
      select s.id from verification_snapshots s join environments e on e.id = s.environment_id
      where e.name = 'staging' and s.created_at >= ${todayStart}::timestamptz order by s.created_at`;
    expect(runs.map((r) => r.id)).toEqual(todays.map((r) => r.id));
    expect(runs.map((r) => r.trigger)).toEqual(["after-apply", "manual"]);

    // The audit chain verified inside the bundle, over the whole log, and the events of this environment.
    const audit = JSON.parse(files["audit.json"]!) as { chain: { ok: boolean; checked: number }; events: { id: number; action: string; subjectId: string }[] };
    // Verified before the export's own event was appended.
    const [{ n }] = (await c.store.sql`select count(*)::int as n from audit_events`) as unknown as [{ n: number }];
    expect(audit.chain).toMatchObject({ ok: true, checked: n - 1 });
    const trail = await c.store.sql<{ id: number }[]>`
      select id from audit_events where occurred_at >= ${todayStart}::timestamptz and action <> 'evidence.exported'
        and ((subject_type = 'deployment' and subject_id in (select d.id::text from deployments d join environments e on e.id = d.environment_id where e.name = 'staging'))
          or (subject_type = 'environment' and subject_id = 'staging')) order by id`;
    expect(audit.events.map((e) => Number(e.id))).toEqual(trail.map((r) => Number(r.id)));
    expect(audit.events.map((e) => e.action)).toEqual(expect.arrayContaining(["deployment.created", "deployment.approved", "deployment.signed_off", "deployment.applied", "verification.ran"]));
    expect(files["report.html"]).toMatch(/The audit chain verifies: \d+ events/);
    expect(files["report.html"]).toContain(ours.planHash.slice(0, 16));

    // The download is itself audited, with the hash of exactly these bytes.
    const [exported] = await c.store.sql<{ actor_email: string; details: { bundleSha256: string; files: number; period: { from: string } } }[]>`
      select actor_email, details from audit_events where action = 'evidence.exported' order by id desc limit 1`;
    expect(exported).toMatchObject({ actor_email: EMAIL.compliance, details: { bundleSha256: createHash("sha256").update(zip).digest("hex"), files: 5, period: { from: today } } });

    // Nothing secret in any file.
    for (const text of Object.values(files)) {
      expect(text).not.toMatch(/postgres(ql)?:\/\//);
      expect(text).not.toMatch(/scrypt|password/i);
    }
  });

  it("fails sha256sum -c when a file is changed after the download", async () => {
    const { dir } = await unpack(await download(EMAIL.admin, { environment: "staging", from: today, to: today }));
    fs.appendFileSync(path.join(dir, "deployments.json"), " ");
    const check = await sha256sumCheck(dir);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(/deployments\.json: FAILED/);
  });

  it("holds only the period asked for", async () => {
    const { files } = await unpack(await download(EMAIL.compliance, { environment: "staging", from: daysAgo(10), to: daysAgo(10) }));
    const { runs } = JSON.parse(files["verification.json"]!) as { runs: { trigger: string }[] };
    expect(runs.map((r) => r.trigger)).toEqual(["manual"]);
    expect((JSON.parse(files["deployments.json"]!) as { deployments: unknown[] }).deployments).toEqual([]);
    const empty = await unpack(await download(EMAIL.compliance, { environment: "staging", from: daysAgo(30), to: daysAgo(20) }));
    expect((JSON.parse(empty.files["verification.json"]!) as { runs: unknown[] }).runs).toEqual([]);
    expect(empty.files["report.html"]).toMatch(/No verification ran in this period/);
  });

  it("is refused to engineers, release managers and signed-out callers, exporting nothing; bad periods are 400", async () => {
    for (const [email, status] of [
      [EMAIL.engineer, 403],
      [EMAIL.release, 403],
      [null, 401],
    ] as const) {
      const before = await storeCounts(c);
      const res = await download(email, { environment: "staging", from: today, to: today });
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ ok: false, error: { status } });
      expect(await storeCounts(c)).toEqual(before);
    }
    const reversed = await download(EMAIL.compliance, { environment: "staging", from: today, to: daysAgo(1) });
    expect(reversed.status).toBe(400);
    expect(((await reversed.json()) as { error: { message: string } }).error.message).toMatch(/start must not be after its end/);
    expect((await download(EMAIL.compliance, { environment: "staging", from: "yesterday", to: today })).status).toBe(400);
    expect((await download(EMAIL.compliance, { environment: "qa", from: today, to: today })).status).toBe(404);
  });

  it("says inside the bundle when the audit chain is broken", async () => {
    await c.store.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update audit_events set details = '{"tampered": true}' where id = (select min(id) from audit_events where action = 'deployment.approved')`;
    });
    const { files } = await unpack(await download(EMAIL.compliance, { environment: "staging", from: today, to: today }));
    expect(JSON.parse(files["audit.json"]!).chain).toMatchObject({ ok: false, reason: expect.stringMatching(/was altered after it was recorded/) });
    expect(files["report.html"]).toMatch(/The audit chain is BROKEN/);
  });
});

describe("the audit export", () => {
  async function exportAs(email: string | null, query: Record<string, string> = {}) {
    await c.signedInAs(email);
    return auditRoute.GET(new Request(`http://x/api/audit/export?${new URLSearchParams(query)}`));
  }

  it("reads from/to as whole days in the console's time zone", async () => {
    const res = await exportAs(EMAIL.compliance, { action: "deployment.approved", from: today, to: today });
    const body = (await res.json()) as { timeZone: string; events: { occurredAt: string }[] };
    expect(body.timeZone).toBe("America/Sao_Paulo");
    expect(body.events.length).toBeGreaterThan(0);
    const dayStart = Date.parse(todayStart);
    for (const e of body.events) expect(new Date(e.occurredAt).getTime()).toBeGreaterThanOrEqual(dayStart);
    const tomorrow = await exportAs(EMAIL.compliance, { action: "deployment.approved", from: nextDay(today) });
    expect(((await tomorrow.json()) as { events: unknown[] }).events).toEqual([]);
  });

  it("gives compliance officers and admins the events with the chain's verification, as JSON and CSV", async () => {
    for (const email of [EMAIL.compliance, EMAIL.admin]) {
      const res = await exportAs(email, { action: "deployment.approved" });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="audit-.*\.json"$/);
      const body = (await res.json()) as { filter: { action: string }; chain: { ok: boolean; checked: number }; events: { id: number; action: string; hash: string }[] };
      expect(body.filter).toEqual({ action: "deployment.approved" });
      const stored = await c.store.sql<{ id: number; hash: string }[]>`select id, hash from audit_events where action ilike '%deployment.approved%' order by id desc`;
      expect(body.events.map((e) => ({ id: Number(e.id), hash: e.hash }))).toEqual(stored.map((r) => ({ id: Number(r.id), hash: r.hash })));
      expect(typeof body.chain.ok).toBe("boolean");
      expect(body.chain.checked).toBeGreaterThan(0);

      const csv = await exportAs(email, { format: "csv", actor: "release2" });
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      const lines = (await csv.text()).trimEnd().split("\r\n");
      expect(lines[0]).toBe("id,occurredAt,actorEmail,action,subjectType,subjectId,details,prevHash,hash");
      const [{ n }] = (await c.store.sql`select count(*)::int as n from audit_events where actor_email ilike '%release2%'`) as unknown as [{ n: number }];
      expect(lines).toHaveLength(n + 1);
      expect(lines.slice(1).every((l) => l.includes(`"${EMAIL.release2}"`))).toBe(true);
      // People read a spreadsheet: the console's one date format, in its time zone (America/Sao_Paulo here).
      for (const l of lines.slice(1)) expect(l.split(",")[1]).toMatch(/^"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} -03:00"$/);
    }
  });

  it("is refused to engineers, release managers and signed-out callers; a bad filter is 400", async () => {
    for (const [email, status] of [
      [EMAIL.engineer, 403],
      [EMAIL.release, 403],
      [null, 401],
    ] as const) {
      const res = await exportAs(email);
      expect(res.status).toBe(status);
      const body = (await res.json()) as { ok: boolean; events?: unknown };
      expect(body).toMatchObject({ ok: false, error: { status } });
      expect(body.events).toBeUndefined();
    }
    expect((await exportAs(EMAIL.admin, { from: "last week" })).status).toBe(400);
    expect((await exportAs(EMAIL.admin, { format: "xml" })).status).toBe(400);
  });
});
