import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { destroyLocalPostgres, startLocalPostgres } from "../../lib/embedded/postgres-server";
import { freePort } from "../support/ports";

// Under /tmp (world-enterable), so OS user postgres can reach it even when the checkout is private.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-embedded-"));
fs.chmodSync(dataDir, 0o755);
// A port of its own: the server is started, killed and started again on it.
const port = await freePort();

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await sql`select 1`;
    return true;
  } finally {
    await sql.end();
  }
}

afterAll(() => {
  destroyLocalPostgres({ dataDir });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("the embedded PostgreSQL", () => {
  it("reuses a server left running by a process that died, instead of failing", async () => {
    const first = await startLocalPostgres({ dataDir, port });
    expect(first.reused).toBe(false);
    // The first owner "dies" without stopping it; the next start finds it running.
    const second = await startLocalPostgres({ dataDir, port });
    expect(second.reused).toBe(true);
    expect(await answers(second.url())).toBe(true);
    await second.stop();
  });

  it("recreates a cluster whose password was lost with its data folder", async () => {
    fs.rmSync(path.join(dataDir, "postgres-password"));
    const server = await startLocalPostgres({ dataDir, port });
    expect(await answers(server.url())).toBe(true);
    await server.stop();
  });
});
