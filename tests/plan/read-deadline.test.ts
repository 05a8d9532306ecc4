/**
 * The plan reads the target on a connection kept between plans. When that connection goes half-open
 * after it was made (a tunnel or the network dies, nothing answers and nothing resets), a read must
 * end within its bound with a clear error, and the next plan must connect afresh instead of waiting
 * on the dead socket.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeKeptConnections } from "../../lib/connection/connect";
import { ExecutorError } from "../../lib/executor";
import { planBasis } from "../../lib/plan/plan";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { targetOf, tcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { realCatalog } from "./support";

/** Forwards TCP to `target`; frozen, it drops every byte both ways and keeps the sockets open (a black hole). */
async function freezingProxy(target: { host: string; port: number }): Promise<TcpProxy & { frozen: (on: boolean) => void }> {
  let frozen = false;
  const proxy = await tcpProxy(target, () => () => (frozen ? "drop" : "pass"));
  return {
    ...proxy,
    frozen: (on) => {
      frozen = on;
    },
  };
}

describe("a plan whose kept connection to the target went half-open", () => {
  let db: TestDatabase;
  let proxy: Awaited<ReturnType<typeof freezingProxy>>;
  let url: string;

  beforeAll(async () => {
    db = await freshDatabase({ prefix: "plan_deadline" });
    proxy = await freezingProxy(targetOf(db.url));
    url = proxy.through(db.url);
  });
  afterAll(async () => {
    await closeKeptConnections();
    await proxy?.close();
    await db?.drop();
  });

  it("fails within its read bound, naming the environment, and the next plan connects afresh", async () => {
    const catalog = await realCatalog();
    const request = { environment: "staging", targetUrl: url, catalog, kind: "apply" as const, to: null, readTimeoutMs: 1_500 };
    const first = await planBasis(request);
    expect(first.units.length).toBe(catalog.migrations.length);

    proxy.frozen(true);
    const started = performance.now();
    const error = await planBasis(request).then(
      () => null,
      (e: unknown) => e,
    );
    const waited = performance.now() - started;
    expect(error).toBeInstanceOf(ExecutorError);
    expect((error as ExecutorError).code).toBe("timeout");
    expect((error as ExecutorError).message).toMatch(/The staging target cannot be read: .*did not answer within 2 s/);
    expect(waited).toBeLessThan(10_000);

    proxy.frozen(false);
    const again = await planBasis(request);
    expect(again.hash).toBe(first.hash);
  });
});
