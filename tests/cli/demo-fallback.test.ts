/**
 * With no store and no target URLs, a CLI command runs on the demo's embedded cluster: started for the
 * command and stopped after it.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../support/ports";
import { cli, CLI_RUN_MS } from "./cli-support";

describe("the demo-cluster fallback", () => {
  it("with no store and no target URLs, --env uses the demo cluster, started for the command and stopped after", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-cli-demo-"));
    // Ports of its own (not the shared scratch block): the cluster is started and stopped three times.
    const port = await freePort();
    let shadowPort = await freePort();
    while (shadowPort === port) shadowPort = await freePort();
    const env: Record<string, string | null> = { CONSOLE_DATABASE_URL: null, TARGET_LOCAL_URL: null, TARGET_STAGING_URL: null, TARGET_PRODUCTION_URL: null, CONSOLE_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port), EMBEDDED_SHADOW_PG_PORT: String(shadowPort) };
    try {
      const local = await cli(["status", "--env", "local", "--json"], env, 2 * CLI_RUN_MS);
      expect(local.code, local.stderr).toBe(0);
      expect(local.json()).toMatchObject({ ok: true, target: "local", pending: [] });
      expect(await listening(port)).toBe(false);

      const production = await cli(["status", "--env", "production", "--json"], env);
      expect(production.code, production.stderr).toBe(0);
      expect(production.json<{ pending: string[] }>().pending).toHaveLength(4);

      const envs = await cli(["envs", "--json"], env);
      expect(envs.json<{ environments: { name: string; configured: boolean; probe: { reachable: boolean } }[] }>().environments.map((e) => [e.name, e.configured, e.probe.reachable])).toEqual([
        ["local", true, true],
        ["staging", true, true],
        ["production", true, true],
      ]);
      expect(await listening(port)).toBe(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 5 * CLI_RUN_MS);
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
