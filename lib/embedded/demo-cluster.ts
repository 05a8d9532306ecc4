/**
 * The default, zero-configuration setup: one embedded PostgreSQL holding the console store and
 * one target database per registry environment, and a second one for rehearsals. Roles, ALTER
 * SYSTEM, databases and tablespaces are cluster-wide: a rehearsal on the targets' cluster could
 * change every target, so rehearsals get a cluster of their own.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { EnvironmentRegistry } from "../config/environments";
import { startLocalPostgres, type LocalPostgres } from "./postgres-server";
import { connect } from "../connection/connect";

export const STORE_DATABASE = "console";
export const targetDatabaseName = (environment: string) => `target_${environment.replace(/-/g, "_")}`;

/**
 * Where the demo clusters live: CONSOLE_DATA_DIR (default .data), EMBEDDED_PG_PORT (default 54329)
 * and EMBEDDED_SHADOW_PG_PORT for the rehearsal cluster (default EMBEDDED_PG_PORT + 1).
 */
export function demoSettings(source: Record<string, string | undefined>, root: string): { dataDir: string; port: number; shadowPort: number } {
  const port = Number(source.EMBEDDED_PG_PORT || 54329);
  return { dataDir: path.resolve(root, source.CONSOLE_DATA_DIR || ".data"), port, shadowPort: Number(source.EMBEDDED_SHADOW_PG_PORT || port + 1) };
}

export interface DemoCluster {
  /** Holds the console store and the demo targets. */
  server: LocalPostgres;
  /** Hosts no target: rehearsals create their throw-away databases here. */
  shadow: LocalPostgres;
  /** Stops both servers, unless they were found running (then their owner stops them). */
  stop(): Promise<void>;
  /** Databases this start created (a fresh demo), as opposed to found. */
  created: string[];
  /** Environment variables that point the console at this cluster. */
  env: Record<string, string>;
}

export async function startDemoCluster(options: {
  dataDir: string;
  port: number;
  shadowPort?: number;
  registry: Pick<EnvironmentRegistry, "environments">;
  log: (line: string) => void;
}): Promise<DemoCluster> {
  const shadowPort = options.shadowPort ?? options.port + 1;
  if (shadowPort === options.port) throw new Error(`EMBEDDED_SHADOW_PG_PORT must differ from EMBEDDED_PG_PORT (both ${options.port}).`);
  const [server, shadow] = await Promise.all([
    startLocalPostgres({ dataDir: path.join(options.dataDir, "postgres"), port: options.port, log: options.log, portVariable: "EMBEDDED_PG_PORT" }),
    startLocalPostgres({ dataDir: path.join(options.dataDir, "shadow-postgres"), port: shadowPort, log: options.log, portVariable: "EMBEDDED_SHADOW_PG_PORT" }),
  ]);
  const wanted = [STORE_DATABASE, ...options.registry.environments.map((e) => targetDatabaseName(e.name))];
  const admin = connect(server.url(), { application: "migration-console demo setup" });
  const created: string[] = [];
  try {
    const existing = new Set((await admin<{ datname: string }[]>`select datname from pg_database`).map((r) => r.datname));
    for (const name of wanted) {
      if (existing.has(name)) continue;
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      created.push(name);
    }
  } finally {
    await admin.end();
  }
  const env: Record<string, string> = {
    CONSOLE_DATABASE_URL: server.url(STORE_DATABASE),
    CONSOLE_DEMO: "1",
    // Rehearsals create throw-away databases on the second cluster, which hosts no target.
    SHADOW_DATABASE_URL: shadow.url("postgres"),
    NEXTAUTH_SECRET: persistentSecret(path.join(options.dataDir, "auth-secret")),
  };
  for (const e of options.registry.environments) env[e.urlEnv] = server.url(targetDatabaseName(e.name));
  return {
    server,
    shadow,
    created,
    env,
    stop: async () => {
      await Promise.all([server, shadow].filter((s) => !s.reused).map((s) => s.stop()));
    },
  };
}

/** Generated once so demo sessions survive restarts; stays in the git-ignored data folder. */
function persistentSecret(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const secret = randomBytes(32).toString("base64url");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, secret + "\n", { mode: 0o600 });
  return secret;
}
