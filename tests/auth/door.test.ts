/**
 * One door: every exported server action and route handler goes through the guarded wrapper, and
 * refuses every role the permission map (lib/auth/permissions) does not allow. Driven from the files
 * and the map themselves, so a new action, route or permission is covered without touching this test.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EMAIL, session, startTestConsole, type TestConsole } from "../support/console";

vi.mock("next-auth", async (importOriginal) => ({
  ...(await importOriginal<typeof import("next-auth")>()),
  getServerSession: async () => (await import("../support/console")).sessionFromTest(),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {}, revalidateTag: () => {} }));

const { PERMISSIONS, can, needsSession } = await import("../../lib/auth/permissions");
const { ROLES } = await import("../../lib/auth/roles");
const { guardOf } = await import("../../app/_server/handlers");
const { endConsoleSession } = await import("../../lib/auth/sessions");

const root = path.resolve(import.meta.dirname, "../..");
/** next-auth's own sign-in endpoint: the one route that is the session's source, not behind it. */
const NOT_BEHIND_THE_DOOR = ["app/api/auth/[...nextauth]/route.ts"];

function filesUnder(dir: string, name: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name === name)
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

interface Entry {
  file: string;
  name: string;
  kind: "action" | "route" | "download";
  permission: keyof typeof PERMISSIONS;
  call: () => Promise<{ status: number; ok: boolean; message?: string }>;
}

const ROLE_EMAIL = { engineer: EMAIL.engineer, release_manager: EMAIL.release, compliance_officer: EMAIL.compliance, admin: EMAIL.admin } as const;

let c: TestConsole;
const entries: Entry[] = [];
const unguarded: string[] = [];

beforeAll(async () => {
  // local one behind: its last migration (indexes) needs no sign-off, so an engineer can run it.
  c = await startTestConsole({ local: 8 }, { worker: true });
  const files = [...filesUnder("app", "actions.ts"), ...filesUnder("app/api", "route.ts")].filter((f) => !NOT_BEHIND_THE_DOOR.includes(f));
  for (const file of files) {
    const mod = (await import(path.join(root, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== "function") continue;
      const guard = guardOf(value);
      if (!guard) {
        unguarded.push(`${file}: ${name}`);
        continue;
      }
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      const call =
        guard.kind === "action"
          ? async () => {
              const r = (await fn({})) as { ok: boolean; error?: { status: number; message: string } };
              return { ok: r.ok, status: r.ok ? 200 : r.error!.status, message: r.error?.message };
            }
          : async () => {
              const method = name;
              const res = (await fn(new Request(`http://console.test/${file}`, { method, ...(method === "GET" || method === "HEAD" ? {} : { body: "{}" }) }), {
                params: Promise.resolve({ id: crypto.randomUUID() }),
              })) as Response;
              const body = res.headers.get("content-type")?.includes("json") ? ((await res.json()) as { error?: { message: string } }) : null;
              return { ok: res.ok, status: res.status, message: body?.error?.message };
            };
      entries.push({ file, name, kind: guard.kind, permission: guard.permission, call });
    }
  }
}, 180_000);
afterAll(async () => c?.close());

describe("one door for every action and route handler", () => {
  it("finds every server action and route handler, and none bypasses the guarded wrapper", () => {
    expect(unguarded).toEqual([]);
    // The three downloads and the actions of every page are among them.
    const names = entries.map((e) => `${e.file}:${e.name}`);
    expect(names).toEqual(expect.arrayContaining(["app/api/audit/export/route.ts:GET", "app/api/compliance/export/route.ts:GET", "app/api/deployments/[id]/schema-before/route.ts:GET"]));
    expect(entries.filter((e) => e.kind === "download").map((e) => e.permission).sort()).toEqual(["audit:export", "deployment:schema-before", "evidence:export"]);
    expect(entries.filter((e) => e.kind === "action").length).toBeGreaterThanOrEqual(12);
  });

  it("refuses every role the permission map does not allow, with a 403 naming the role, and lets the others through the door", async () => {
    for (const entry of entries) {
      for (const role of ROLES) {
        await c.signedInAs(ROLE_EMAIL[role]);
        const result = await entry.call();
        const what = `${role} → ${entry.file} ${entry.name} (${entry.permission})`;
        if (can(role, entry.permission)) {
          expect(result.status, `${what}: ${result.message}`).not.toBe(403);
          expect(result.message ?? "", what).not.toMatch(/^This needs the/);
        } else {
          expect(result.status, what).toBe(403);
          expect(result.message, what).toMatch(/^This needs the .* role; you are signed in as/);
        }
      }
    }
  }, 180_000);

  it("answers 401 to a caller without a session, or whose session has ended, wherever a session is needed", async () => {
    for (const signedOut of ["none", "ended"] as const) {
      if (signedOut === "none") await c.signedInAs(null);
      else {
        await c.signedInAs(EMAIL.admin);
        await endConsoleSession(c.store.db, session.sessionId!, "signed_out");
      }
      for (const entry of entries) {
        const result = await entry.call();
        if (needsSession(entry.permission)) expect(result.status, `${signedOut}: ${entry.file} ${entry.name}`).toBe(401);
        else expect(result.status, `${entry.file} ${entry.name}`).not.toBe(401);
      }
    }
  });

  it("has no permission that nothing reads", () => {
    const sources = ["app", "components", "lib/gates", "lib/deployments", "cli"]
      .flatMap((dir) => fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /\.tsx?$/.test(e.name)).map((e) => path.join(e.parentPath, e.name)))
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    const unread = Object.keys(PERMISSIONS).filter((p) => !sources.includes(`"${p}"`));
    expect(unread).toEqual([]);
  });
});

describe("the three downloads", () => {
  const download = async (route: string, query: Record<string, string>, params?: Record<string, string>) => {
    const mod = (await import(path.join(root, route))) as { GET: (r: Request, ctx?: unknown) => Promise<Response> };
    return mod.GET(new Request(`http://console.test/x?${new URLSearchParams(query)}`), params ? { params: Promise.resolve(params) } : undefined);
  };
  const today = new Date().toISOString().slice(0, 10);

  it("evidence export: refused to engineers and release managers, a zip for compliance officers and admins", async () => {
    for (const email of [EMAIL.engineer, EMAIL.release]) {
      await c.signedInAs(email);
      const res = await download("app/api/compliance/export/route.ts", { environment: "local", from: today, to: today });
      expect(res.status).toBe(403);
      expect(res.headers.get("content-disposition")).toBeNull();
    }
    for (const email of [EMAIL.compliance, EMAIL.admin]) {
      await c.signedInAs(email);
      const res = await download("app/api/compliance/export/route.ts", { environment: "local", from: today, to: today });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/zip");
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename=".*local.*\.zip"$/);
    }
  });

  it("audit export: refused to engineers and release managers, CSV and JSON for compliance officers and admins, and itself audited", async () => {
    for (const email of [EMAIL.engineer, EMAIL.release]) {
      await c.signedInAs(email);
      expect((await download("app/api/audit/export/route.ts", { format: "csv" })).status).toBe(403);
    }
    await c.signedInAs(EMAIL.compliance);
    const csv = await download("app/api/audit/export/route.ts", { format: "csv" });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect((await csv.text()).split("\r\n")[0]).toBe("id,occurredAt,actorEmail,action,subjectType,subjectId,details,prevHash,hash");
    await c.signedInAs(EMAIL.admin);
    const json = (await (await download("app/api/audit/export/route.ts", { format: "json" })).json()) as { chain: { ok: boolean }; events: { action: string; actorEmail: string }[] };
    expect(json.chain.ok).toBe(true);
    expect(json.events.find((e) => e.action === "audit.exported")).toMatchObject({ actorEmail: EMAIL.compliance });
    await c.signedInAs(EMAIL.compliance);
    const bad = await download("app/api/audit/export/route.ts", { format: "xml" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/format/);
  });

  it("schema before a run: refused to compliance officers and admins, the file for engineers and release managers", async () => {
    const actions = await import("../../app/(console)/deployments/actions");
    await c.signedInAs(EMAIL.engineer);
    const created = await actions.createDeploymentAction({ environment: "local" });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    const id = created.ok ? created.data.id : "";
    const route = "app/api/deployments/[id]/schema-before/route.ts";
    const notRun = await download(route, {}, { id });
    expect(notRun.status).toBe(404);
    expect(((await notRun.json()) as { error: { message: string } }).error.message).toBe("This deployment has not run, so there is no schema from before it.");

    const applied = await actions.applyDeploymentAction({ id });
    expect(applied, JSON.stringify(applied)).toMatchObject({ ok: true });
    const { deployments } = await import("../../lib/store/schema");
    const { eq } = await import("drizzle-orm");
    for (const deadline = Date.now() + 60_000; ; ) {
      const [row] = await c.store.db.select({ state: deployments.state }).from(deployments).where(eq(deployments.id, id));
      if (row!.state === "succeeded") break;
      expect(["queued", "running"], `deployment is ${row!.state}`).toContain(row!.state);
      if (Date.now() > deadline) throw new Error("the deployment did not finish in 60 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const email of [EMAIL.compliance, EMAIL.admin]) {
      await c.signedInAs(email);
      expect((await download(route, {}, { id })).status).toBe(403);
    }
    for (const email of [EMAIL.engineer, EMAIL.release]) {
      await c.signedInAs(email);
      const res = await download(route, {}, { id });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="deployment-\d+-schema-before\.(sql|json)"$/);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  }, 120_000);
});
