/**
 * One migrated and seeded template database per test file; every test breaks its own copy of it.
 * CREATE DATABASE ... TEMPLATE needs the template to have no connection, so the template's client is
 * closed once it is built.
 */
import path from "node:path";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { seedDemoData } from "../../db/seed/demo";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { runVerification, type VerificationReport } from "../../lib/verify";
import { dropDatabase, freshDatabase, type ServerVersion, type TestDatabase } from "../support/databases";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../db/migrations");

export interface Template {
  server: ServerVersion;
  name: string;
  drop(): Promise<void>;
}

export async function migratedSeededTemplate(server: ServerVersion): Promise<Template> {
  const db = await freshDatabase({ server, prefix: "vtpl" });
  await applyMigrations({ url: db.url, catalog: await loadCatalog(MIGRATIONS_DIR), actor: "test" });
  // Two patients per clinic overdue for anonymisation, six active telemedicine sessions, 50 consents.
  await seedDemoData(db.sql);
  await db.sql.end();
  return { server, name: db.name, drop: () => dropDatabase(server, db.name) };
}

/** A copy of the template with a client of a few connections (the checks run concurrently). */
export function copyOf(template: Template): Promise<TestDatabase> {
  return freshDatabase({ server: template.server, template: template.name, prefix: "vrf" });
}

export async function verify(db: TestDatabase, checks?: string[]): Promise<VerificationReport> {
  return runVerification(db.sql, checks ? { checks } : {});
}

/** Ids of the checks that are red: failed, or could not run. */
export function redChecks(report: VerificationReport): string[] {
  return report.results.filter((r) => r.status === "fail" || r.status === "error").map((r) => r.checkId).sort();
}

export function result(report: VerificationReport, checkId: string) {
  const r = report.results.find((x) => x.checkId === checkId);
  if (!r) throw new Error(`no result for ${checkId}`);
  return r;
}

/** A readable description of the red checks, for assertion messages. */
export function describeRed(report: VerificationReport): string {
  return report.results
    .filter((r) => r.status === "fail" || r.status === "error")
    .map((r) => `${r.checkId} [${r.status}]: ${r.summary}`)
    .join("\n");
}

/** A login role that is a member of app_user, for the duration of `fn`; dropped afterwards whatever happens. */
export async function withAppMemberRole<T>(
  db: TestDatabase,
  attributes: string,
  fn: (role: { name: string; url: string }) => Promise<T>,
): Promise<T> {
  const name = `verify_member_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  await db.sql.unsafe(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}' ${attributes} IN ROLE app_user`);
  try {
    const url = new URL(db.url);
    url.username = name;
    url.password = password;
    return await fn({ name, url: url.toString() });
  } finally {
    await db.sql.unsafe(`DROP ROLE IF EXISTS "${name}"`);
  }
}

export function clientFor(url: string): postgres.Sql {
  return postgres(url, { max: 4, onnotice: () => {} });
}


/** The tenant predicate as migration 0007 writes it. */
export const TENANT = `clinic_id = NULLIF(current_setting('app.current_clinic_id', true), '')::uuid`;

/** A fresh copy of the template, broken by `breakIt`, verified, dropped. */
export async function brokenBy(template: Template, breakIt: (db: TestDatabase) => Promise<unknown>): Promise<VerificationReport> {
  const db = await copyOf(template);
  try {
    await breakIt(db);
    return await verify(db);
  } finally {
    await db.drop();
  }
}
