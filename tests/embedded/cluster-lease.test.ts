/**
 * In demo mode, the embedded cluster is shared by the web console, workers and CLI commands run at
 * the same time: none stops it under another. The last one out stops a cluster a command started;
 * a cluster the web console started is the console's.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/migrations";
import { loadRegistry } from "../../lib/config/env";
import { leaseDemoCluster, type LeaseHolderKind } from "../../lib/embedded/cluster-lease";
import { destroyLocalPostgres } from "../../lib/embedded/postgres-server";
import { testPorts } from "../support/ports";

const root = path.resolve(import.meta.dirname, "../..");
// Under /tmp (world-enterable), so OS user postgres can reach it even when the checkout is private.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-lease-"));
fs.chmodSync(dataDir, 0o755);
let port = 0;

function listening(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: p });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const lease = (kind: LeaseHolderKind) =>
  leaseDemoCluster({ dataDir, port, registry: loadRegistry({}, root), catalog: () => loadCatalog(path.join(root, "db/migrations")), kind, log: () => {} });

async function query(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from clinics`;
    return row!.n;
  } finally {
    await sql.end();
  }
}

function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CONSOLE_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port), CONSOLE_DATABASE_URL: "", TARGET_LOCAL_URL: "", TARGET_STAGING_URL: "", TARGET_PRODUCTION_URL: "" };
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [path.join(root, "cli/bin.cjs"), ...args], { cwd: root, env, timeout: 150_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

beforeAll(async () => {
  for (let n = 0; n < 10 && !port; n++) if (!(await listening(testPorts.scratch(process.pid + n)))) port = testPorts.scratch(process.pid + n);
  // The first lease creates the demo: cluster, databases, targets migrated and seeded.
  const first = await lease("cli");
  expect(await first.release()).toBe(true);
}, 240_000);

afterAll(() => {
  destroyLocalPostgres({ dataDir: path.join(dataDir, "postgres") });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("the demo cluster, shared", () => {
  it("is not stopped by the command that started it while another still uses it; the last one out stops it", async () => {
    const a = await lease("cli");
    const b = await lease("cli");
    const url = a.cluster.env.TARGET_LOCAL_URL!;
    expect(await a.release()).toBe(false);
    expect(await query(url)).toBeGreaterThan(0);
    expect(await b.release()).toBe(true);
    expect(await listening(port)).toBe(false);
  }, 60_000);

  it("runs three CLI commands started at once, all succeeding, and stops the cluster after the last", async () => {
    const runs = await Promise.all([cli(["status", "--env", "local", "--json"]), cli(["status", "--env", "staging", "--json"]), cli(["envs", "--json"])]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
    }
    expect(await listening(port)).toBe(false);
  }, 180_000);

  it("never stops a cluster the web console started; when the console leaves first, the last command stops it", async () => {
    const consoleLease = await lease("console");
    const command = await lease("cli");
    expect(await command.release()).toBe(false);
    const r = await cli(["status", "--env", "local", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await listening(port)).toBe(true);

    const late = await lease("cli");
    expect(await consoleLease.release()).toBe(false);
    expect(await query(late.cluster.env.TARGET_LOCAL_URL!)).toBeGreaterThan(0);
    expect(await late.release()).toBe(true);
    expect(await listening(port)).toBe(false);
  }, 120_000);

  it("does not count a holder that died without giving its lease back", async () => {
    const a = await lease("cli");
    const state = path.join(dataDir, "cluster-leases.json");
    const written = JSON.parse(fs.readFileSync(state, "utf8")) as { holders: { pid: number }[] };
    // A holder whose process is gone (SIGKILL): pid 2^22 + 1 is above Linux's pid_max default.
    written.holders.push({ ...written.holders[0]!, pid: 4_194_305 } as never);
    fs.writeFileSync(state, JSON.stringify(written));
    expect(await a.release()).toBe(true);
  }, 60_000);
});
