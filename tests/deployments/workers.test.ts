/**
 * Several workers on one store: `npm run worker` processes and the web server's in-process worker
 * all take jobs from the same queue, and every deployment runs exactly once. With
 * CONSOLE_WORKER=off the web server runs none itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditTrail, consoleProcessEnv, deploymentRow, EMAIL, startTestConsole, waitForDeployment, type TestConsole } from "../support/console";

vi.mock("next-auth", async (importOriginal) => ({
  ...(await importOriginal<typeof import("next-auth")>()),
  getServerSession: async () => (await import("../support/console")).sessionFromTest(),
}));
vi.mock("next/cache", () => ({ revalidatePath: () => {}, revalidateTag: () => {} }));

const actions = await import("../../app/(console)/deployments/actions");
const { startInProcessWorker } = await import("../../app/_server/jobs");
const { runs } = await import("../../lib/store/schema");
const { eq } = await import("drizzle-orm");

const root = path.resolve(import.meta.dirname, "../..");
const NAMES = ["w1", "w2", "w3", "w4", "w5", "w6"];
const REGISTRY = {
  environments: NAMES.map((name) => ({ name, urlEnv: `TARGET_${name.toUpperCase()}_URL`, verifyEveryMinutes: 0, gates: { releaseManagerApprovals: 0, complianceSignoff: "never" } })),
};

let c: TestConsole;
const children: { child: ChildProcess; output: string[]; exited: Promise<number | null> }[] = [];

beforeAll(async () => {
  c = await startTestConsole(Object.fromEntries(NAMES.map((n) => [n, 5])), { worker: false, registry: REGISTRY });
}, 120_000);
afterAll(async () => {
  for (const w of children) w.child.kill("SIGTERM");
  await Promise.all(children.map((w) => Promise.race([w.exited, new Promise((r) => setTimeout(r, 15_000))])));
  await c?.close();
  delete process.env.CONSOLE_WORKER;
}, 60_000);

/** `npm run worker` against this console's store; resolves once it waits for deployments. */
async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/worker.ts"], { cwd: root, env: { ...process.env, ...consoleProcessEnv() }, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  children.push({ child, output, exited });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start within 40 s:\n${output.join("")}`)), 40_000);
    const onData = (d: Buffer) => {
      output.push(d.toString());
      if (output.join("").includes("Waiting for deployments")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited (${code}):\n${output.join("")}`));
    });
  });
  return child;
}

async function queue(environment: string, to?: string): Promise<string> {
  await c.signedInAs(EMAIL.engineer);
  const created = await actions.createDeploymentAction({ environment, to });
  expect(created.ok, JSON.stringify(created)).toBe(true);
  const id = created.ok ? created.data.id : "";
  expect((await deploymentRow(c, id)).state).toBe("approved");
  const queued = await actions.applyDeploymentAction({ id });
  expect(queued.ok, JSON.stringify(queued)).toBe(true);
  return id;
}

describe("CONSOLE_WORKER=off", () => {
  it("keeps the web server from running deployments; a worker process runs them", async () => {
    process.env.CONSOLE_WORKER = "off";
    await startInProcessWorker();
    const id = await queue("w1", "0005_telemedicine_and_audit");
    // Several of the worker's polling intervals (0.5 s) pass: nobody in this process takes it.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await deploymentRow(c, id)).state).toBe("queued");
    expect(await c.store.db.select().from(runs).where(eq(runs.deploymentId, id))).toEqual([]);

    const child = await startWorkerProcess();
    expect((await waitForDeployment(c, id, ["succeeded", "failed"], 30_000)).state).toBe("succeeded");
    const [run] = await c.store.db.select().from(runs).where(eq(runs.deploymentId, id));
    expect(run!.worker).toMatch(new RegExp(`:${child.pid}$`));
  }, 90_000);
});

describe("two worker processes and the web server's worker on one store", () => {
  it("run every deployment exactly once", async () => {
    await startWorkerProcess();
    delete process.env.CONSOLE_WORKER;
    await startInProcessWorker();

    const ids: string[] = [];
    for (const to of ["0006_appointment_overlap", undefined]) {
      const wave = await Promise.all(NAMES.map((n) => queue(n, to)));
      for (const id of wave) expect((await waitForDeployment(c, id, ["succeeded", "failed"], 60_000)).state).toBe("succeeded");
      ids.push(...wave);
    }

    const allRuns = await c.store.db.select().from(runs);
    for (const id of ids) {
      expect(allRuns.filter((r) => r.deploymentId === id), `deployment ${id}`).toHaveLength(1);
      const actions = (await auditTrail(c, id)).map((e) => e.action);
      expect(actions.filter((a) => a === "deployment.started")).toHaveLength(1);
      expect(actions.filter((a) => a === "deployment.applied")).toHaveLength(1);
    }
    for (const name of NAMES) {
      const target = c.targets[name]!;
      const drizzle = await target.sql<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations order by id`;
      expect(drizzle.map((r) => r.hash)).toEqual(c.catalog.migrations.map((m) => m.checksum));
      const history = await target.sql<{ tag: string; direction: string }[]>`select tag, direction from migration_console.history order by id`;
      expect(history.filter((h) => h.direction === "up").map((h) => h.tag)).toEqual(c.catalog.migrations.map((m) => m.tag));
      expect(history.filter((h) => h.direction === "down")).toEqual([]);
    }
    const workers = new Set(allRuns.map((r) => r.worker));
    console.info(`deployments per worker: ${JSON.stringify(Object.fromEntries([...workers].map((w) => [w, allRuns.filter((r) => r.worker === w).length])))}`);
    expect(workers.size).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
