/**
 * `migration-console user add` on a console configured for real use (CONSOLE_DATABASE_URL, no demo
 * users): the first admin is created, can sign in, and everything about it is audited. The
 * password never travels as an argument.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { signInWithPassword } from "../../lib/auth/sign-in";
import { openStore, type Store } from "../../lib/store/db";
import { auditEvents, users } from "../../lib/store/schema";
import { adminUrl, freshDatabase, hasServer, shadowAdminUrl, type TestDatabase } from "../support/databases";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const STRONG = "violet-harbour-tram-42";
let storeDb: TestDatabase;
let store: Store;
let env: Record<string, string>;

function cli(args: string[], extra: Record<string, string> = {}, stdin?: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(root, "cli/bin.cjs"), ...args],
      { cwd: root, env: { ...process.env, ...env, ...extra }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
    else child.stdin!.end();
  });
}

beforeAll(async () => {
  // Real use as the README describes it: the store on PostgreSQL 15 (18 only where 15 is missing locally).
  storeDb = await freshDatabase({ prefix: "useradd_store", server: hasServer(15) || process.env.CI ? 15 : 18 });
  env = {
    // Real use: a configured store, not the demo (no demo users are seeded).
    CONSOLE_DATABASE_URL: storeDb.url,
    CONSOLE_DEMO: "",
    NEXTAUTH_SECRET: "y".repeat(40),
    SHADOW_DATABASE_URL: shadowAdminUrl(),
    TARGET_LOCAL_URL: storeDb.url.replace(/\/[^/]+$/, "/does_not_exist"),
    TARGET_STAGING_URL: storeDb.url.replace(/\/[^/]+$/, "/does_not_exist"),
    TARGET_PRODUCTION_URL: storeDb.url.replace(/\/[^/]+$/, "/does_not_exist"),
    MIGRATION_CONSOLE_EMAIL: "",
    MIGRATION_CONSOLE_PASSWORD: "",
    MIGRATION_CONSOLE_NEW_PASSWORD: "",
  };
  store = openStore(storeDb.url, { max: 2 });
}, 120_000);
afterAll(async () => {
  await store?.close();
  await storeDb?.drop();
});

// Each CLI call boots the console (store migrated, registry synced): seconds each on a busy machine.
describe("user add", { timeout: 150_000 }, () => {
  it("creates the first admin of an empty store, who can then sign in; the creation is audited", async () => {
    const created = await cli(["user", "add", "--email", "Ops.Lead@Clinic.example", "--name", "Olga Pires", "--role", "admin", "--json"], { MIGRATION_CONSOLE_NEW_PASSWORD: STRONG });
    expect(created.code, created.stderr).toBe(0);
    const out = JSON.parse(created.stdout) as { ok: boolean; user: { id: string; email: string; role: string } };
    expect(out).toMatchObject({ ok: true, user: { email: "ops.lead@clinic.example", role: "admin" } });
    expect(created.stdout).not.toContain(STRONG);

    const signedIn = await signInWithPassword(store.db, { email: "ops.lead@clinic.example", password: STRONG, client: "203.0.113.9" });
    expect(signedIn).toMatchObject({ ok: true, user: { id: out.user.id, role: "admin" } });

    const [event] = await store.db.select().from(auditEvents).where(eq(auditEvents.subjectId, out.user.id));
    expect(event).toMatchObject({ action: "user.created", details: { email: "ops.lead@clinic.example", role: "admin", passwordSignIn: true } });
    expect(event!.actorEmail).toMatch(/^cli:/);
    expect(JSON.stringify(event)).not.toContain(STRONG);
  });

  it("reads the password from standard input when the variable is unset", async () => {
    const created = await cli(["user", "add", "--email", "rm@clinic.example", "--name", "Rui Matos", "--role", "release_manager"], {}, `${STRONG}\n`);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Created Release manager Rui Matos <rm@clinic.example>/);
    expect(await signInWithPassword(store.db, { email: "rm@clinic.example", password: STRONG, client: null })).toMatchObject({ ok: true });
  });

  it("refuses a duplicate email clearly and leaves the existing user as it was", async () => {
    const again = await cli(["user", "add", "--email", "OPS.LEAD@clinic.example", "--name", "Someone Else", "--role", "engineer", "--json"], { MIGRATION_CONSOLE_NEW_PASSWORD: "another-strong-pass-77" });
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, error: { code: "conflict", message: expect.stringMatching(/already exists/) } });
    const [row] = await store.db.select().from(users).where(eq(users.email, "ops.lead@clinic.example"));
    expect(row).toMatchObject({ name: "Olga Pires", role: "admin" });
  });

  it("refuses weak passwords and says why, creating nothing", async () => {
    for (const [password, why] of [
      ["short-pw", /at least 12 characters/],
      ["password1234", /too easy to guess: .*common/i],
      ["nina.costa.1990", /too easy to guess/],
    ] as const) {
      const res = await cli(["user", "add", "--email", "nina.costa@clinic.example", "--name", "Nina Costa", "--role", "engineer"], { MIGRATION_CONSOLE_NEW_PASSWORD: password });
      expect(res.code, password).toBe(1);
      expect(res.stderr).toMatch(why);
      expect(res.stderr).not.toContain(password);
    }
    expect(await store.db.select().from(users).where(eq(users.email, "nina.costa@clinic.example"))).toEqual([]);
  });

  it("takes no password as an argument, and names what is missing as a usage error", async () => {
    const asArgument = await cli(["user", "add", "--email", "x@clinic.example", "--name", "X", "--role", "engineer", "--password", STRONG]);
    expect(asArgument.code).toBe(2);
    expect(asArgument.stderr).toMatch(/Unknown option '--password'/);
    const missing = await cli(["user", "add", "--email", "x@clinic.example"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/user add needs --name, --role/);
    const badRole = await cli(["user", "add", "--email", "x@clinic.example", "--name", "X", "--role", "superuser"]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/--role must be one of engineer, release_manager, compliance_officer, admin/);
    const noPassword = await cli(["user", "add", "--email", "x@clinic.example", "--name", "X", "--role", "engineer"], {}, "");
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr).toMatch(/No password given: set MIGRATION_CONSOLE_NEW_PASSWORD or pass it on standard input/);
  });
});
