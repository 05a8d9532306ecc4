/**
 * Fresh databases on the suite's real PostgreSQL servers. Every test file makes its own, so files
 * run in parallel without sharing state.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";

export type ServerVersion = 18 | 15;

export interface TestDatabase {
  name: string;
  /** Superuser URL of this database. */
  url: string;
  /** A superuser client on this database. */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export function adminUrl(server: ServerVersion = 18): string {
  const url = server === 18 ? inject("pg18AdminUrl") : inject("pg15AdminUrl");
  if (!url) throw new Error(`PostgreSQL ${server} is not available on this machine`);
  return url;
}

/** Superuser URL of the suite's shadow cluster (PostgreSQL 18, hosting no target). */
export function shadowAdminUrl(): string {
  return inject("shadowAdminUrl");
}

export function hasServer(server: ServerVersion): boolean {
  return Boolean(server === 18 ? inject("pg18AdminUrl") : inject("pg15AdminUrl"));
}

export function databaseUrl(server: ServerVersion, name: string): string {
  const url = new URL(adminUrl(server));
  url.pathname = `/${name}`;
  return url.toString();
}

const quiet = { onnotice: () => {} };

/** Creates an empty database (or a copy of `template`) and a client on it. */
export async function freshDatabase(
  options: { server?: ServerVersion; template?: string; prefix?: string } = {},
): Promise<TestDatabase> {
  const server = options.server ?? 18;
  const name = `${options.prefix ?? "t"}_${randomBytes(5).toString("hex")}`;
  const admin = postgres(adminUrl(server), { max: 1, ...quiet });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"${options.template ? ` TEMPLATE "${options.template}"` : ""}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(server, name);
  const sql = postgres(url, { max: 4, ...quiet });
  return {
    name,
    url,
    sql,
    drop: async () => {
      await sql.end({ timeout: 5 });
      await dropDatabase(server, name);
    },
  };
}

export async function dropDatabase(server: ServerVersion, name: string): Promise<void> {
  const admin = postgres(adminUrl(server), { max: 1, ...quiet });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
