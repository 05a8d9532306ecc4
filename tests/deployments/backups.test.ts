/**
 * Backups through deployments: the plan shows what is destroyed, the worker's run backs it up with an
 * audit event for the backup and its check, the rollback deployment restores it (audited), the
 * retention job purges an expired copy (audited), and the schema before the run downloads as SQL.
 */
import { and, asc, eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../../db/seed/demo";
import { loadCatalog } from "../../lib/migrations";
import { createDeployment, createRollbackDeployment, enqueueDeployment, signoffDeployment } from "../../lib/deployments/service";
import { readBackups } from "../../lib/executor/backup";
import { purgeExpiredBackupsEverywhere } from "../../lib/jobs/backup-retention";
import { snapshotToSql } from "../../lib/plan/schema-sql";
import { auditEvents, deployments } from "../../lib/store/schema";
import { addMigration, copyOfFolder, removeFixtureFolders, statements } from "../executor/support";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";

let c: TestConsole;
beforeAll(async () => {
  c = await startTestConsole({ local: 9 });
  await seedDemoData(c.targets.local!.sql);
  const dir = copyOfFolder();
  addMigration(dir, {
    tag: "0009_drop_patients_cns",
    up: statements('ALTER TABLE "patients" DROP COLUMN "cns"'),
    down: statements('ALTER TABLE "patients" ADD COLUMN "cns" text'),
    when: 1_900_000_000_000,
  });
  const catalog = await loadCatalog(dir);
  c.deps.catalog = async () => catalog;
}, 120_000);
afterAll(async () => {
  await c?.close();
  removeFixtureFolders();
});

async function runToEnd(id: string) {
  const engineer = await c.actor(EMAIL.engineer);
  const [planned] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
  // Dropping a tagged column needs the compliance officer, on local too.
  if (planned!.state === "awaiting_approval") await signoffDeployment(c.deps, await c.actor(EMAIL.compliance), { id });
  await enqueueDeployment(c.deps, engineer, { id });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [row] = await c.store.db.select().from(deployments).where(eq(deployments.id, id));
    if (row!.state === "succeeded" || row!.state === "failed") return row!;
    if (Date.now() > deadline) throw new Error(`deployment stayed ${row!.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const backupAudit = () =>
  c.store.db
    .select({ action: auditEvents.action, details: auditEvents.details })
    .from(auditEvents)
    .where(and(eq(auditEvents.subjectType, "environment"), eq(auditEvents.subjectId, "local"), like(auditEvents.action, "backup.%")))
    .orderBy(asc(auditEvents.id));

describe("a deployment that drops patients.cns on local, and its rollback", () => {
  it("backs up, restores and purges with an audit event for each step", { timeout: 180_000 }, async () => {
    const local = c.targets.local!;
    const before = await local.sql`select id::text, cns from patients order by id`;
    const engineer = await c.actor(EMAIL.engineer);

    const created = await createDeployment(c.deps, engineer, { environment: "local", kind: "apply", to: null });
    expect(created.plan.destroys).toEqual([expect.objectContaining({ table: "patients", columns: ["cns"], tagged: true })]);
    const applied = await runToEnd(created.id);
    expect(applied.state).toBe("succeeded");
    expect(snapshotToSql(applied.schemaBefore!.catalog)).toMatch(/\n {2}cns text,?\n/);
    expect((await backupAudit()).map((e) => e.action)).toEqual(["backup.taken", "backup.verified"]);
    expect((await backupAudit())[0]!.details).toMatchObject({ table: "public.patients", columns: ["cns"], rows: before.length, tagged: true });

    const rollback = await createRollbackDeployment(c.deps, engineer, { id: created.id });
    expect((await runToEnd(rollback.id)).state).toBe("succeeded");
    expect(await local.sql`select id::text, cns from patients order by id`).toEqual(before);
    expect((await backupAudit()).map((e) => e.action)).toEqual(["backup.taken", "backup.verified", "backup.restored"]);

    const again = await createDeployment(c.deps, engineer, { environment: "local", kind: "apply", to: null });
    expect((await runToEnd(again.id)).state).toBe("succeeded");
    const rounds = await purgeExpiredBackupsEverywhere(c.deps, new Date(Date.now() + 31 * 86_400_000));
    expect(rounds.find((r) => r.environment === "local")!.purged).toHaveLength(1);
    expect((await backupAudit()).map((e) => e.action).slice(-1)).toEqual(["backup.purged"]);
    expect((await readBackups(local.url)).map((b) => b.state)).toEqual(["purged", "restored"]);
  });
});
