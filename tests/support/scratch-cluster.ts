/**
 * A short-lived PostgreSQL cluster of a test's own, on the first free scratch port, with its data under
 * /tmp (OS user postgres can reach it even when the checkout is private). Stopped and deleted by `destroy`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { destroyLocalPostgres, LocalPostgresError, startLocalPostgres, type LocalPostgres } from "../../lib/embedded/postgres-server";
import { testPorts } from "./ports";

export async function startScratchCluster(options: { binDir?: string } = {}): Promise<LocalPostgres & { destroy(): void }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-scratch-"));
  fs.chmodSync(dataDir, 0o755);
  const destroy = () => {
    destroyLocalPostgres({ dataDir });
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  for (let n = 0; n < 7; n++) {
    try {
      const server = await startLocalPostgres({ dataDir, port: testPorts.scratch(process.pid + n), binDir: options.binDir });
      return Object.assign(server, { destroy });
    } catch (e) {
      if (!(e instanceof LocalPostgresError && /already taken/.test(e.message))) {
        destroy();
        throw e;
      }
    }
  }
  destroy();
  throw new Error("Every scratch port is taken");
}
