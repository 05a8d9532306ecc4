/**
 * A whole console against real PostgreSQL for integration tests: a migrated store with the demo
 * users, one target database per environment at chosen versions, a real pg-boss queue and worker.
 * Server actions are called as they are in production; only the session (who is signed in) is set
 * by the test, through `signedInAs`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, asc, eq } from "drizzle-orm";
import type PgBoss from "pg-boss";
import { inject } from "vitest";
import { DEMO_USERS, ensureDemoUsers } from "../../lib/auth/demo-users";
import { startConsoleSession } from "../../lib/auth/sessions";
import { findUserByEmail, type Actor } from "../../lib/auth/users";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { loadRegistry } from "../../lib/config/env";
import type { DeploymentDeps } from "../../lib/deployments/context";
import { applyMigrations } from "../../lib/executor";
import { enqueueWith, startBoss, startDeploymentWorker, type WorkerHandle } from "../../lib/jobs/queue";
import { openStore, type Store } from "../../lib/store/db";
import { auditEvents, deployments, type Deployment } from "../../lib/store/schema";
import { syncEnvironments } from "../../lib/targets/registry-sync";
import { verifyAfterApply } from "../../lib/verify/snapshots";
import { adminUrl, freshDatabase, shadowAdminUrl, type TestDatabase } from "./databases";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Who is signed in. A test file mocks next-auth's getServerSession to read this (see
 * tests/deployments/flow.test.ts); everything below it (guard, store, gates) is real.
 */
export const session = { userId: null as string | null, sessionId: null as string | null };

export function sessionFromTest() {
  return session.userId ? { userId: session.userId, sessionId: session.sessionId ?? undefined, expires: new Date(Date.now() + 3600_000).toISOString() } : null;
}

/** The session policy the test console runs with (the defaults of lib/config). */
export const TEST_SESSION_POLICY = { maxAgeSeconds: 8 * 3600, idleSeconds: 30 * 60 };

export interface TestConsole {
  store: Store;
  catalog: Catalog;
  targets: Record<string, TestDatabase>;
  deps: DeploymentDeps;
  boss: PgBoss;
  actor(email: string): Promise<Actor>;
  signedInAs(email: string | null): Promise<void>;
  close(): Promise<void>;
}

export interface TestConsoleOptions {
  /** false: no deployment worker in this process (the test starts one when it wants the run). */
  worker?: boolean;
  /** An environment registry (the shape of config/environments.json) instead of the repository's. */
  registry?: unknown;
}

/** versions: environment → how many migrations to apply (from the start). */
export async function startTestConsole(versions: Record<string, number>, options: TestConsoleOptions = {}): Promise<TestConsole> {
  const storeDb = await freshDatabase({ prefix: "console", template: inject("storeTemplate") });
  const catalog = await loadCatalog(path.join(root, "db/migrations"));
  const targets: Record<string, TestDatabase> = {};
  const env: Record<string, string> = {
    CONSOLE_DATABASE_URL: storeDb.url,
    NEXTAUTH_SECRET: "test-secret-".padEnd(40, "x"),
    SHADOW_DATABASE_URL: shadowAdminUrl(),
    CONSOLE_ENVIRONMENTS_FILE: "",
  };
  let registryDir: string | null = null;
  if (options.registry) {
    registryDir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-registry-"));
    env.CONSOLE_ENVIRONMENTS_FILE = path.join(registryDir, "environments.json");
    fs.writeFileSync(env.CONSOLE_ENVIRONMENTS_FILE, JSON.stringify(options.registry));
  }
  const registryNames = loadRegistry({ CONSOLE_ENVIRONMENTS_FILE: env.CONSOLE_ENVIRONMENTS_FILE }, root).environments;
  for (const e of registryNames) {
    const db = await freshDatabase({ prefix: `target_${e.name}` });
    targets[e.name] = db;
    env[e.urlEnv] = db.url;
    const count = versions[e.name] ?? 0;
    if (count > 0) await applyMigrations({ url: db.url, catalog, to: catalog.migrations[count - 1]!.tag, actor: "test-setup" });
  }
  Object.assign(process.env, env);
  const registry = loadRegistry(process.env, root);
  const store = openStore(storeDb.url, { max: 6 });
  await syncEnvironments(store.db, registry);
  await ensureDemoUsers(store.db);
  const boss = await startBoss(storeDb.url);
  const deps: DeploymentDeps = {
    store,
    registry,
    catalog: async () => catalog,
    shadow: { adminUrl: shadowAdminUrl() },
    enqueue: enqueueWith(boss),
  };
  let worker: WorkerHandle | null = null;
  if (options.worker !== false) worker = await startDeploymentWorker(boss, deps, verifyAfterApply(deps));

  const actor = async (email: string): Promise<Actor> => {
    const u = (await findUserByEmail(store.db, email))!;
    return { id: u.id, email: u.email, name: u.name, role: u.role };
  };
  return {
    store,
    catalog,
    targets,
    deps,
    boss,
    actor,
    signedInAs: async (email) => {
      session.userId = email ? (await actor(email)).id : null;
      // A real console session in the store, as a browser sign-in would start.
      session.sessionId = session.userId ? await startConsoleSession(store.db, session.userId, TEST_SESSION_POLICY, "test") : null;
    },
    close: async () => {
      // Waits for a run still verifying after its apply: dropping its databases under it would kill its connections mid-write.
      await worker?.stop();
      // The server actions' own queue client (app/_server/jobs), if they started one.
      await (await import("../../app/_server/jobs")).stopJobQueue();
      // Graceful: a job still running (a verification after an apply) finishes before the store closes.
      await boss.stop({ graceful: true, wait: true, timeout: 20_000 });
      await store.close();
      await Promise.all([storeDb.drop(), ...Object.values(targets).map((t) => t.drop())]);
      if (registryDir) fs.rmSync(registryDir, { recursive: true, force: true });
    },
  };
}

export const EMAIL = Object.fromEntries(DEMO_USERS.map((u) => [u.email.split("@")[0]!, u.email])) as Record<"engineer" | "release" | "release2" | "compliance" | "admin", string>;

/** The environment variables the console in this process runs with (to start a worker process on the same store). */
export function consoleProcessEnv(): Record<string, string> {
  const names = ["CONSOLE_DATABASE_URL", "NEXTAUTH_SECRET", "SHADOW_DATABASE_URL", "CONSOLE_ENVIRONMENTS_FILE"];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && (names.includes(k) || k.startsWith("TARGET_"))) out[k] = v;
  return out;
}

/** Polls the store until the deployment is in one of `states`; fails naming the state it stayed in. */
export async function waitForDeployment(c: TestConsole, id: string, states: readonly string[], timeoutMs = 20_000): Promise<Deployment> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
    if (row && states.includes(row.state)) return row;
    if (Date.now() > deadline) throw new Error(`deployment ${id} stayed ${row?.state ?? "missing"} for ${timeoutMs} ms (waiting for ${states.join(" or ")})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function deploymentRow(c: TestConsole, id: string): Promise<Deployment> {
  const [row] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
  if (!row) throw new Error(`no deployment ${id}`);
  return row;
}

/** The audit trail of one subject, oldest first. */
export async function auditTrail(c: TestConsole, subjectId: string) {
  return c.store.db.select().from(auditEvents).where(and(eq(auditEvents.subjectId, subjectId))).orderBy(asc(auditEvents.id));
}

/**
 * Row counts of every table of the console's store (and pg-boss jobs), to prove that a refused
 * action changed nothing. Console sessions are left out: signing the test's caller in is not the action.
 */
export async function storeCounts(c: TestConsole): Promise<Record<string, number | string>> {
  const tables = await c.store.sql<{ schema: string; name: string }[]>`
    select schemaname as schema, tablename as name from pg_tables
    where schemaname in ('public', 'pgboss') and tablename not in ('version', 'subscription', 'schedule', 'console_sessions') order by 1, 2`;
  const out: Record<string, number | string> = {};
  for (const t of tables) {
    const [row] = await c.store.sql.unsafe(`select count(*)::int as n from "${t.schema}"."${t.name}"`);
    out[`${t.schema}.${t.name}`] = (row as unknown as { n: number }).n;
  }
  // States and hashes too: a refused action must not move a row it did not add.
  const [digest] = await c.store.sql<{ d: string }[]>`
    select md5(coalesce(string_agg(id::text || state || plan_hash || coalesce(reject_reason, '') || coalesce(verification, ''), ',' order by id), '')) as d from deployments`;
  out["deployments.digest"] = digest!.d;
  const [users] = await c.store.sql<{ d: string }[]>`select md5(coalesce(string_agg(id::text || role || is_active::text, ',' order by id), '')) as d from users`;
  out["users.digest"] = users!.d;
  return out;
}
