/**
 * Every connection gives up within a bounded time with an error a user can act on: an endpoint that
 * accepts and closes (a tunnel to a dead backend), one that accepts and never answers, a refused
 * port, a wrong password and a missing database each get their own code, and no password leaks.
 */
import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { ExecutorError, readStatus } from "../../lib/executor";
import { ConnectionError, openConnection } from "../../lib/connection/connect";
import { probeTarget } from "../../lib/targets/probe";
import { fixtureCatalog, removeFixtureFolders, statements } from "../executor/support";
import { adminUrl } from "../support/databases";
import { freePort } from "../support/ports";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const SECRET = "s3cret-pw";

/** Listens on a port the kernel picks (never one another test's server may hold) and says which. */
function listening(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closing(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
}

/** A TCP server that accepts every connection and closes it at once, counting them. */
async function acceptAndClose(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  return { port: await listening(server), accepted: () => accepted, close: closing(server, sockets) };
}

/** A TCP server that accepts and never says a word. */
async function acceptAndHang(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  return { port: await listening(server), close: closing(server, sockets) };
}

const urlAt = (port: number) => `postgres://app:${SECRET}@127.0.0.1:${port}/clinic`;

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (e) {
    const err = e as ConnectionError | ExecutorError;
    return { code: err.code, message: err.message, ms: performance.now() - started };
  }
  throw new Error("expected a connection failure");
}

describe("connecting to a database", () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await fixtureCatalog([{ tag: "0000_a", up: statements("CREATE TABLE a (id int)") }]);
  });
  afterAll(() => removeFixtureFolders());

  it("gives up on an endpoint that accepts and closes within 10 s, without a reconnect storm", { timeout: 60_000 }, async () => {
    const endpoint = await acceptAndClose();
    try {
      const direct = await codeOf(openConnection(urlAt(endpoint.port)));
      expect(direct.code).toBe("unreachable");
      expect(direct.message).toMatch(/accepted the connection and closed it/);
      expect(direct.ms).toBeLessThan(10_000);
      const status = await codeOf(readStatus(urlAt(endpoint.port), catalog));
      expect(status.code).toBe("unreachable");
      expect(status.ms).toBeLessThan(10_000);
      // A handful of tries per attempt, not thousands of sockets.
      expect(endpoint.accepted()).toBeLessThanOrEqual(10);
      expect(direct.message + status.message).not.toContain(SECRET);
    } finally {
      await endpoint.close();
    }
  });

  it("`status` from the CLI ends on such an endpoint with the error and exit 1, instead of hanging", { timeout: 90_000 }, async () => {
    const endpoint = await acceptAndClose();
    try {
      // The 10 s bound itself is asserted in-process above; here the process must end by itself (execFile kills it at 60 s).
      const outcome = await run(process.execPath, [path.join(root, "cli/bin.cjs"), "status", "--database-url", urlAt(endpoint.port), "--json"], { cwd: root, timeout: 60_000 }).then(
        () => ({ code: 0, stdout: "", killed: false }),
        (e: { code: number; stdout: string; killed?: boolean }) => ({ code: e.code, stdout: e.stdout, killed: Boolean(e.killed) }),
      );
      expect(outcome.killed).toBe(false);
      expect(outcome.code).toBe(1);
      expect(JSON.parse(outcome.stdout).error.code).toBe("unreachable");
      expect(outcome.stdout).not.toContain(SECRET);
      expect(endpoint.accepted()).toBeLessThanOrEqual(10);
    } finally {
      await endpoint.close();
    }
  });

  it("times out on an endpoint that accepts and never answers", async () => {
    const endpoint = await acceptAndHang();
    try {
      const failure = await codeOf(openConnection(urlAt(endpoint.port), { connectTimeoutMs: 1_500 }));
      expect(failure.code).toBe("timeout");
      expect(failure.ms).toBeLessThan(1_500 + 3_000);
      const status = await codeOf(readStatus(urlAt(endpoint.port), catalog, { connectTimeoutMs: 1_500 }));
      expect(status.code).toBe("timeout");
    } finally {
      await endpoint.close();
    }
  });

  it("tells a refused connection, a wrong password and a missing database apart", async () => {
    // A port that was free a moment ago: nothing listens there.
    const refused = await codeOf(readStatus(urlAt(await freePort()), catalog));
    expect(refused.code).toBe("unreachable");
    expect(refused.message).toMatch(/Connection refused/);

    const wrongPassword = new URL(adminUrl(18));
    wrongPassword.password = SECRET;
    const auth = await codeOf(readStatus(wrongPassword.toString(), catalog));
    expect(auth.code).toBe("auth_failed");
    expect(auth.message).toMatch(/password/);

    const missing = new URL(adminUrl(18));
    missing.pathname = "/no_such_clinic_db";
    const database = await codeOf(readStatus(missing.toString(), catalog));
    expect(database.code).toBe("database_missing");
    expect(database.message).toMatch(/no_such_clinic_db/);

    for (const f of [refused, auth, database]) {
      expect(f.message).not.toContain(SECRET);
      expect(f.message).not.toContain(new URL(adminUrl(18)).password);
    }
    expect(await probeTarget(wrongPassword.toString(), 3)).toMatchObject({ reachable: false, code: "auth_failed" });
    expect(await probeTarget(missing.toString(), 3)).toMatchObject({ reachable: false, code: "database_missing" });
  });
});
