/**
 * Starts the real PostgreSQL servers the suite talks to, once per run: the embedded build
 * (PostgreSQL 18) and the system's PostgreSQL 15. Each test file creates its own databases.
 */
import fs from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startLocalPostgres, type LocalPostgres } from "../../lib/embedded/postgres-server";

export const PG15_BIN = "/usr/lib/postgresql/15/bin";
const root = path.resolve(__dirname, "../..");

declare module "vitest" {
  export interface ProvidedContext {
    pg18AdminUrl: string;
    pg15AdminUrl: string | null;
  }
}

let servers: LocalPostgres[] = [];

export async function setup(project: TestProject) {
  const pg18 = await startLocalPostgres({ dataDir: path.join(root, ".data/test/pg18"), port: 54330 });
  servers.push(pg18);
  project.provide("pg18AdminUrl", pg18.url());

  let pg15Url: string | null = null;
  if (fs.existsSync(path.join(PG15_BIN, "postgres"))) {
    const pg15 = await startLocalPostgres({ dataDir: path.join(root, ".data/test/pg15"), port: 54331, binDir: PG15_BIN });
    servers.push(pg15);
    pg15Url = pg15.url();
  } else if (process.env.CI) {
    throw new Error(`PostgreSQL 15 binaries are missing at ${PG15_BIN}; .ci/run installs the postgresql-15 package.`);
  }
  project.provide("pg15AdminUrl", pg15Url);
}

/**
 * In CI the servers stop with the run. On a developer machine they keep running, so the next run
 * (or one started in parallel from another terminal) reuses them instead of racing to stop them.
 */
export async function teardown() {
  if (process.env.CI) await Promise.all(servers.map((s) => s.stop()));
  servers = [];
}
