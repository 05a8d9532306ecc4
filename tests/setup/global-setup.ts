/**
 * Starts the real PostgreSQL servers the suite talks to, once per run: the embedded build
 * (PostgreSQL 18) and the system's PostgreSQL 15. Each test file creates its own databases.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import postgres from "postgres";
import { startLocalPostgres, type LocalPostgres } from "../../lib/embedded/postgres-server";
import { migrateStore } from "../../lib/store/migrate";
import { testPorts } from "../support/ports";

export const PG15_BIN = "/usr/lib/postgresql/15/bin";
const root = path.resolve(__dirname, "../..");
/** Per port block: two runs with different TEST_PORT_BASE in one checkout never share a data folder. */
const serversDir = path.join(root, ".data/test", `ports-${testPorts.pg18}`);

declare module "vitest" {
  export interface ProvidedContext {
    pg18AdminUrl: string;
    pg15AdminUrl: string | null;
    /**
     * A third cluster (PostgreSQL 18) that hosts no test target: the suite's shadow server, so a rehearsed
     * cluster-wide statement (a role, ALTER SYSTEM) never reaches a target, as in real use.
     */
    shadowAdminUrl: string;
    /** A database on PostgreSQL 18 holding a migrated console store, to clone per test file. */
    storeTemplate: string;
  }
}

/** Named after the store migrations' contents: a changed migration gets a new template. */
function storeTemplateName(): string {
  const dir = path.join(root, "lib/store/migrations");
  const hash = createHash("sha256");
  for (const file of fs.readdirSync(dir, { recursive: true }).map(String).sort()) {
    const full = path.join(dir, file);
    if (fs.statSync(full).isFile()) hash.update(file).update(fs.readFileSync(full));
  }
  return `tpl_store_${hash.digest("hex").slice(0, 12)}`;
}

let servers: LocalPostgres[] = [];

export async function setup(project: TestProject) {
  const [pg18, shadow] = await Promise.all([
    startLocalPostgres({ dataDir: path.join(serversDir, "pg18"), port: testPorts.pg18 }),
    startLocalPostgres({ dataDir: path.join(serversDir, "pg18-shadow"), port: testPorts.pg18Shadow }),
  ]);
  servers.push(pg18, shadow);
  project.provide("pg18AdminUrl", pg18.url());
  project.provide("shadowAdminUrl", shadow.url());
  project.provide("storeTemplate", await ensureStoreTemplate(pg18));

  let pg15Url: string | null = null;
  if (fs.existsSync(path.join(PG15_BIN, "postgres"))) {
    const pg15 = await startLocalPostgres({ dataDir: path.join(serversDir, "pg15"), port: testPorts.pg15, binDir: PG15_BIN });
    servers.push(pg15);
    pg15Url = pg15.url();
  } else if (process.env.CI) {
    throw new Error(`PostgreSQL 15 binaries are missing at ${PG15_BIN}; .ci/run installs the postgresql-15 package.`);
  }
  project.provide("pg15AdminUrl", pg15Url);
}

/** Created once per version of the store migrations; a lock keeps parallel runs from racing. */
async function ensureStoreTemplate(server: LocalPostgres): Promise<string> {
  const name = storeTemplateName();
  const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(7361204900)`;
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}_building"`);
      await admin.unsafe(`CREATE DATABASE "${name}_building"`);
      await migrateStore(server.url(`${name}_building`), path.join(root, "lib/store/migrations"));
      // Renamed only when complete, so a half-migrated template is never cloned.
      await admin.unsafe(`ALTER DATABASE "${name}_building" RENAME TO "${name}"`);
    }
  } finally {
    await admin`select pg_advisory_unlock(7361204900)`.catch(() => {});
    await admin.end();
  }
  return name;
}

/**
 * In CI the servers stop with the run. On a developer machine they keep running, so the next run
 * (or one started in parallel from another terminal) reuses them instead of racing to stop them.
 */
export async function teardown() {
  if (process.env.CI) await Promise.all(servers.map((s) => s.stop()));
  servers = [];
}
