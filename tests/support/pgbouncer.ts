/**
 * A real PgBouncer (Debian's `pgbouncer`) in front of the suite's PostgreSQL 18, in transaction or
 * session mode. PgBouncer refuses to run as root, so as root it runs as OS user postgres, with its
 * own ini file, auth file, pid file and log in a folder of its own (one per port).
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export const PGBOUNCER_BIN = "/usr/sbin/pgbouncer";

export function hasPgBouncer(): boolean {
  return fs.existsSync(PGBOUNCER_BIN);
}

export interface PgBouncer {
  port: number;
  mode: "transaction" | "session";
  /** The URL of `database` through this PgBouncer (same user and password as `serverUrl`). */
  url(database: string): string;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

function asOsUserPostgres(file: string, args: string[]): { file: string; args: string[] } {
  return isRoot() ? { file: "runuser", args: ["-u", "postgres", "--", file, ...args] } : { file, args };
}

/** Starts PgBouncer on `port` in front of the server `serverUrl` points at; stops a leftover one on that port first. */
export async function startPgBouncer(options: { port: number; mode: "transaction" | "session"; serverUrl: string; poolSize?: number }): Promise<PgBouncer> {
  if (!hasPgBouncer()) throw new Error(`PgBouncer is not installed at ${PGBOUNCER_BIN}; .ci/run installs the pgbouncer package.`);
  const server = new URL(options.serverUrl);
  const dir = `/tmp/mc-pgbouncer-${options.port}`;
  const pidFile = path.join(dir, "pgbouncer.pid");
  await stopByPidFile(pidFile);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  // Clients are trusted (a test rig); PgBouncer logs in to PostgreSQL with the password from the auth file.
  fs.writeFileSync(path.join(dir, "users.txt"), `"${user}" "${password.replace(/"/g, '""')}"\n`, { mode: 0o600 });
  fs.writeFileSync(
    path.join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${options.port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${path.join(dir, "users.txt")}`,
      `pool_mode = ${options.mode}`,
      `default_pool_size = ${options.poolSize ?? 4}`,
      "max_client_conn = 200",
      `pidfile = ${pidFile}`,
      `logfile = ${path.join(dir, "pgbouncer.log")}`,
      "ignore_startup_parameters = extra_float_digits,options",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  if (isRoot()) execFileSync("chown", ["-R", "postgres:postgres", dir]);

  const { file, args } = asOsUserPostgres(PGBOUNCER_BIN, ["-d", path.join(dir, "pgbouncer.ini")]);
  const started = spawnSync(file, args, { encoding: "utf8", timeout: 10_000 });
  if (started.status !== 0) throw new Error(`PgBouncer did not start (exit ${started.status}): ${started.stderr || started.stdout}`);
  await waitForPort(options.port, 10_000, () => fs.readFileSync(path.join(dir, "pgbouncer.log"), "utf8"));

  return {
    port: options.port,
    mode: options.mode,
    url(database: string) {
      const u = new URL(options.serverUrl);
      u.port = String(options.port);
      u.pathname = `/${database}`;
      return u.toString();
    },
    stop: () => stopByPidFile(pidFile),
  };
}

async function stopByPidFile(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(pid, "SIGKILL");
}

async function waitForPort(port: number, timeoutMs: number, log: () => string): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PgBouncer did not listen on ${port} within ${timeoutMs} ms:\n${log()}`);
}
