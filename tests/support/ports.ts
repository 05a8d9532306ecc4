/**
 * Ports of the servers the tests start. Derived from TEST_PORT_BASE when set, otherwise from the
 * checkout's path, so a running demo (3000, 54329), a second checkout and CI never collide, while
 * one checkout keeps the same ports between runs (its test servers are reused locally).
 */
import net from "node:net";
import { createHash } from "node:crypto";
import path from "node:path";

const root = path.resolve(__dirname, "../..");

function portBase(): number {
  const fromEnv = Number(process.env.TEST_PORT_BASE);
  if (Number.isInteger(fromEnv) && fromEnv >= 1024 && fromEnv <= 65_000) return fromEnv;
  // Below 32768, where Linux hands out the local ports of outgoing connections (ip_local_port_range
  // 32768-60999): a test server's port taken as a client's local port fails its start (EADDRINUSE).
  const slot = createHash("sha256").update(root).digest().readUInt16BE(0) % 638;
  return 20_000 + slot * 20;
}

const base = portBase();

/** Each name owns one port of the block base .. base + 19. */
export const testPorts = {
  pg18: base,
  pg15: base + 1,
  e2eWeb: base + 2,
  e2ePg: base + 3,
  restartWeb: base + 4,
  restartPg: base + 5,
  pgbouncer: base + 6,
  pgbouncerSession: base + 7,
  oidc: base + 8,
  webhook: base + 9,
  /** The suite's shadow cluster: rehearsals run on a cluster that hosts no test target. */
  pg18Shadow: base + 10,
  /** The demo's second embedded cluster (for rehearsals) in the e2e and restart journeys. */
  e2eShadowPg: base + 11,
  restartShadowPg: base + 12,
  /** base + 13 .. base + 19: for tests that start a short-lived server of their own. */
  scratch: (n: number) => base + 13 + (n % 7),
} as const;

/**
 * A port the kernel has just handed out as free, for a test whose server must survive other tests
 * starting scratch servers meanwhile (the scratch block is shared, and some of its users pick by pid).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
