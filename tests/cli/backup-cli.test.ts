/**
 * The "done when", as the quick start's user does it: on the local environment with demo data,
 * a new migration in its own migrations folder drops patients.cns; `apply` backs the CNS up, `rollback`
 * brings every one of them back, and both say so.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../../db/seed/demo";
import { loadCatalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { addMigration, copyOfFolder, removeFixtureFolders, statements } from "../executor/support";
import { freshDatabase, type TestDatabase } from "../support/databases";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(root, "cli/bin.cjs"), ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let db: TestDatabase | undefined;
afterAll(async () => {
  removeFixtureFolders();
  await db?.drop();
});

describe("dropping patients.cns on local from the CLI", () => {
  it("applies with a checked backup and rolls back with every CNS back in place", { timeout: 180_000 }, async () => {
    db = await freshDatabase({ prefix: "cli_backup" });
    const dir = copyOfFolder();
    await applyMigrations({ url: db.url, catalog: await loadCatalog(dir), actor: "setup" });
    await seedDemoData(db.sql);
    addMigration(dir, {
      tag: "0009_drop_patients_cns",
      up: statements('ALTER TABLE "patients" DROP COLUMN "cns"'),
      down: statements('ALTER TABLE "patients" ADD COLUMN "cns" text', 'ALTER TABLE "patients" ADD CONSTRAINT "patients_cns_unique" UNIQUE("cns")'),
      when: 1_900_000_000_000,
    });
    const before = await db.sql<{ id: string; cns: string | null }[]>`select id::text, cns from patients order by id`;
    const withCns = before.filter((p) => p.cns !== null).length;
    expect(withCns).toBeGreaterThan(10);
    // The local environment of the registry, pointed at this database (no store needed for a direct apply).
    const env = { CONSOLE_DATABASE_URL: "postgres://unused@127.0.0.1:1/x", TARGET_LOCAL_URL: db.url };

    const plan = await cli(["apply", "--env", "local", "--migrations", dir, "--json"], env);
    expect(plan.code, plan.stderr).toBe(0);
    const applied = JSON.parse(plan.stdout);
    expect(applied.migrations).toEqual(["0009_drop_patients_cns"]);
    expect(applied.backups.taken).toEqual([expect.objectContaining({ table: "public.patients", columns: ["cns"], rows: before.length })]);

    const rolled = await cli(["rollback", "--env", "local", "--to", "0008_performance_indexes", "--migrations", dir], env);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`restored public.patients (cns): ${before.length} row(s), checksum equal to the backup`);
    expect(rolled.stderr).toMatch(/Restored public\.patients\.cns/);
    expect(await db.sql`select id::text, cns from patients order by id`).toEqual(before);
  });
});
