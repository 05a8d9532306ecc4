/**
 * Notifications against a real local HTTP receiver: each event reaches each interested channel
 * exactly once, a 500 is retried until it is accepted, and no payload carries a secret.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { loadRegistry } from "../../lib/config/env";
import { parseEnvironmentRegistry } from "../../lib/config/environments";
import { createDeployment } from "../../lib/deployments/service";
import { startNotificationWorker } from "../../lib/jobs/notifications";
import { notify, NOTIFICATION_EVENTS, recentDeliveries } from "../../lib/notifications";
import { notificationDeliveries } from "../../lib/store/schema";
import { verifyEnvironment } from "../../lib/verify/snapshots";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";
import { testPorts } from "../support/ports";

interface Received {
  path: string;
  body: string;
  status: number;
}

let c: TestConsole;
let server: http.Server;
const received: Received[] = [];
/** Paths answering 500 this many more times. */
const failures = new Map<string, number>([["/flaky", 1]]);
const base = `http://127.0.0.1:${testPorts.webhook}`;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      const left = failures.get(path) ?? 0;
      // Only the first event sent to /flaky fails once: that is the retry under test.
      const status = left > 0 ? 500 : 200;
      if (left > 0) failures.set(path, left - 1);
      received.push({ path, body, status });
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "boom");
    });
  });
  await new Promise<void>((resolve) => server.listen(testPorts.webhook, "127.0.0.1", resolve));
  c = await startTestConsole({ local: 9, staging: 6, production: 4 }, { worker: false });
  const raw = {
    environments: loadRegistry(process.env).environments.map((e) => ({ name: e.name, label: e.label, urlEnv: e.urlEnv, gates: e.gates })),
    notifications: [
      { urlEnv: "TEST_HOOK_ALL" },
      { urlEnv: "TEST_HOOK_SLACK", format: "slack", events: ["deployment_failed", "verification_red"] },
      { urlEnv: "TEST_HOOK_FLAKY", events: ["approval_needed"] },
    ],
  };
  c.deps.registry = parseEnvironmentRegistry(raw, { ...process.env, TEST_HOOK_ALL: `${base}/all`, TEST_HOOK_SLACK: `${base}/slack`, TEST_HOOK_FLAKY: `${base}/flaky` });
}, 120_000);
afterAll(async () => {
  await c?.close();
  await new Promise((r) => server?.close(r));
});

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 25_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("notifications", () => {
  it("delivers every event once to each channel that wants it, retries a 500, and sends no secret", { timeout: 90_000 }, async () => {
    const worker = await startNotificationWorker(c.boss, c.deps, { retryDelaySeconds: 1, dispatchEveryMs: 200 });
    try {
      // From the lifecycle and verification: approval + sign-off needed, verification red.
      await createDeployment(c.deps, await c.actor(EMAIL.engineer), { environment: "staging", kind: "apply", to: null });
      await verifyEnvironment(c.deps, "staging", "schedule");
      // The worker's events, as the worker writes them (its transaction, its function).
      await c.store.db.transaction(async (tx) => {
        await notify(tx, { type: "deployment_succeeded", environment: "local", summary: "Deployment #1 applied local.", deployment: { id: crypto.randomUUID(), number: 1 } });
        await notify(tx, {
          type: "deployment_failed",
          environment: "local",
          // A careless caller passes an error that contains a connection string: it is cut.
          summary: `Deployment #2 failed: could not connect to ${c.targets.local!.url}`,
          deployment: { id: crypto.randomUUID(), number: 2 },
        });
        await notify(tx, { type: "drift_found", environment: "local", summary: "Local differs: table public.patients (rlsEnabled changed)." });
      });
      // A notification whose transaction rolls back is never sent.
      await c.store.db
        .transaction(async (tx) => {
          await notify(tx, { type: "deployment_failed", environment: "production", summary: "rolled back" });
          throw new Error("rollback");
        })
        .catch(() => {});

      const expected = { all: NOTIFICATION_EVENTS.length, slack: 2, flaky: 1 };
      await until("every delivery", async () => {
        const rows = await c.store.db.select().from(notificationDeliveries);
        return rows.length === expected.all + expected.slack + expected.flaky && rows.every((r) => r.state === "delivered");
      });

      const ok = received.filter((r) => r.status === 200);
      const events = (path: string) => ok.filter((r) => r.path === path).map((r) => (JSON.parse(r.body) as { event?: string; text?: string }).event ?? "slack");
      expect(events("/all").sort()).toEqual([...NOTIFICATION_EVENTS].sort());
      expect(ok.filter((r) => r.path === "/slack")).toHaveLength(2);
      for (const r of ok.filter((r) => r.path === "/slack")) expect(JSON.parse(r.body)).toEqual({ text: expect.stringMatching(/^\*(Deployment failed|Verification turned red)\*/) });
      expect(events("/flaky")).toEqual(["approval_needed"]);
      // The 500 was retried: two attempts, one delivery.
      expect(received.filter((r) => r.path === "/flaky").map((r) => r.status)).toEqual([500, 200]);
      const flaky = (await recentDeliveries(c.store.db)).find((d) => d.urlEnv === "TEST_HOOK_FLAKY")!;
      expect(flaky).toMatchObject({ state: "delivered", attempts: 2, lastStatus: 200 });
      expect(events("/all").filter((e) => e === "deployment_failed")).toHaveLength(1);

      const secrets = [
        ...Object.values(c.targets).flatMap((t) => [t.url, decodeURIComponent(new URL(t.url).password)]),
        process.env.CONSOLE_DATABASE_URL!,
        process.env.NEXTAUTH_SECRET!,
        base,
        "127.0.0.1",
      ].filter((s) => s.length >= 6);
      for (const r of received) for (const secret of secrets) expect(r.body, `a payload to ${r.path}`).not.toContain(secret);
      const failed = ok.find((r) => r.path === "/all" && r.body.includes('"deployment_failed"'))!;
      expect(JSON.parse(failed.body).summary).toBe("Deployment #2 failed: could not connect to (url)");

      // Running the delivery again (a re-sent job) posts nothing more.
      const before = received.length;
      const { deliverNotification } = await import("../../lib/notifications");
      for (const d of await c.store.db.select().from(notificationDeliveries)) await deliverNotification(c.store.db, c.deps.registry, d.id);
      expect(received.length).toBe(before);
    } finally {
      await worker.stop();
    }
  });

  it("records a channel whose URL variable is unset as failed, naming the variable, without sending", async () => {
    c.deps.registry = { ...c.deps.registry, notifications: [{ index: 0, urlEnv: "TEST_HOOK_UNSET", url: null, events: NOTIFICATION_EVENTS, format: "json" }] };
    const worker = await startNotificationWorker(c.boss, c.deps, { retryDelaySeconds: 1, dispatchEveryMs: 200 });
    try {
      await c.store.db.transaction((tx) => notify(tx, { type: "drift_found", environment: "local", summary: "x" }));
      const row = await until("the failed delivery", async () => (await c.store.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.urlEnv, "TEST_HOOK_UNSET")))[0]);
      expect(row).toMatchObject({ state: "failed", lastError: "TEST_HOOK_UNSET is not set, so this channel's URL is unknown." });
    } finally {
      await worker.stop();
    }
  });
});
