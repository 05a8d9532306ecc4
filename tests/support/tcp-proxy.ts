/**
 * A TCP proxy in front of a test PostgreSQL, for the failures a network makes: a connection that
 * goes silent, one cut at the worst moment. Every new connection gets its own `filter`, which sees
 * each chunk on its way and says what becomes of it.
 */
import net from "node:net";
import { freePort } from "./ports";

export type ChunkFate = "pass" | "drop" | "cut";
export type ChunkFilter = (chunk: Buffer, direction: "toServer" | "toClient") => ChunkFate;

export interface TcpProxy {
  port: number;
  /** `url` (a postgres:// URL to the proxied server) pointed at the proxy instead. */
  through(url: string): string;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }, filterFor: () => ChunkFilter = () => () => "pass"): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const filter = filterFor();
    sockets.add(client).add(upstream);
    for (const [from, to, direction] of [[client, upstream, "toServer"], [upstream, client, "toClient"]] as const) {
      from.on("data", (chunk: Buffer) => {
        const fate = filter(chunk, direction);
        if (fate === "pass") to.write(chunk);
        else if (fate === "cut") {
          client.destroy();
          upstream.destroy();
        }
      });
      from.on("error", () => {});
      from.on("close", () => to.destroy());
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    through: (url) => {
      const proxied = new URL(url);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(port);
      return proxied.toString();
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Where `url` points, as tcpProxy's target. */
export function targetOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}
