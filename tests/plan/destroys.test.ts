/**
 * A plan lists the data its migrations destroy: which table and columns, how many rows and bytes (from
 * the target's statistics), whether it is tagged, and what only the rehearsal saw.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../../db/seed/demo";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import { computePlan } from "../../lib/plan/plan";
import { addMigration, copyOfFolder, removeFixtureFolders, statements } from "../executor/support";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { shadowServer } from "./support";

let db: TestDatabase;
let catalog: Catalog;

beforeAll(async () => {
  db = await freshDatabase({ prefix: "plan_destroys" });
  const dir = copyOfFolder();
  await applyMigrations({ url: db.url, catalog: await loadCatalog(dir), actor: "setup" });
  await seedDemoData(db.sql);
  await db.sql`analyze`;
  addMigration(dir, {
    tag: "0009_retire_cns_and_notes",
    up: statements(
      'ALTER TABLE "patients" DROP COLUMN "cns"',
      "DELETE FROM appointments WHERE status = 'cancelled'",
      // The analysis cannot see into a DO block: only the rehearsal's diff shows this column going.
      "DO $$ BEGIN EXECUTE 'ALTER TABLE professionals DROP COLUMN email'; END $$",
    ),
    down: statements('ALTER TABLE "patients" ADD COLUMN "cns" text', "ALTER TABLE professionals ADD COLUMN email text"),
    when: 1_900_000_000_000,
  });
  catalog = await loadCatalog(dir);
});
afterAll(async () => {
  removeFixtureFolders();
  await db?.drop();
});

describe("the plan of a destructive migration", () => {
  it("lists each destroyed piece of data with estimates and tags", async () => {
    const plan = await computePlan({ environment: "local", targetUrl: db.url, catalog, kind: "apply", to: null }, shadowServer());
    expect(plan.rehearsal.ok, plan.rehearsal.error ?? "").toBe(true);
    const [patients] = await db.sql<{ n: number }[]>`select count(*)::int as n from patients`;
    const [cancelled] = await db.sql<{ n: number }[]>`select count(*)::int as n from appointments where status = 'cancelled'`;
    const byTable = Object.fromEntries((plan.destroys ?? []).map((d) => [`${d.schema}.${d.table}`, d]));

    expect(byTable["public.patients"]).toMatchObject({ tag: "0009_retire_cns_and_notes", rowsRemoved: false, columns: ["cns"], keyColumns: ["id"], tagged: true, classes: ["identifier"], taggedColumns: ["cns"], foundBy: "statements", restorable: true, estimatedRows: patients!.n });
    expect(byTable["public.patients"]!.estimatedBytes).toBeGreaterThan(patients!.n * 10);
    expect(byTable["public.appointments"]).toMatchObject({ rowsRemoved: true, predicate: "status = 'cancelled'", tagged: true, foundBy: "statements" });
    expect(byTable["public.appointments"]!.classes).toContain("health");
    expect(Math.abs(byTable["public.appointments"]!.estimatedRows! - cancelled!.n)).toBeLessThanOrEqual(Math.max(3, cancelled!.n));
    expect(byTable["public.professionals"]).toMatchObject({ columns: ["email"], tagged: true, classes: ["personal"], foundBy: "rehearsal", restorable: false });
    expect(byTable["public.professionals"]!.notes[0]).toMatch(/only the rehearsal shows this dropped column/);
  });
});
