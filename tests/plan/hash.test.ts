/**
 * The plan hash binds approvals: the same files and the same target give the same hash whatever the
 * rehearsal measured; an edited file, a target that moved or a new migration give another. Blocked plans
 * say why and are not rehearsed; an unreachable target is a clear error that never shows the password.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations, ExecutorError, readStatus } from "../../lib/executor";
import { planBasis, type Plan } from "../../lib/plan/plan";
import { adminUrl, type TestDatabase } from "../support/databases";
import { freePort } from "../support/ports";
import { addMigration, copyOfFolder, removeFixtureFolders, statements } from "../executor/support";
import { plan, realCatalog, targetsAt } from "./support";

const BEHIND = "0006_appointment_overlap";

let targets: Awaited<ReturnType<typeof targetsAt>>;

beforeAll(async () => {
  targets = await targetsAt(await realCatalog(), [BEHIND], "plan_hash");
});
afterAll(async () => {
  await targets?.dropAll();
  removeFixtureFolders();
});

const rehearsalTimings = (p: Plan) => ({ ...p.timings, rehearsal: p.rehearsal.durationMs, statements: p.migrations.flatMap((m) => m.statements.map((s) => s.rehearsalMs)) });

function appendTo(dir: string, file: string, text: string): void {
  fs.appendFileSync(path.join(dir, file), text);
}

describe("the plan hash", () => {
  let dir: string;
  let catalog: Catalog;
  let target: TestDatabase;
  let original: Plan;

  beforeAll(async () => {
    dir = copyOfFolder();
    catalog = await loadCatalog(dir);
    target = await targets.at(BEHIND);
    original = await plan(target, catalog);
    expect(original.blockers).toEqual([]);
    expect(original.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is the same for the same files and the same target, although the rehearsal timings differ", async () => {
    const again = await plan(target, await loadCatalog(dir));
    expect(again.hash).toBe(original.hash);
    expect(rehearsalTimings(again)).not.toEqual(rehearsalTimings(original));
    // What the console recomputes right before an apply, without rehearsing: the same hash.
    const basis = await planBasis({ environment: "staging", targetUrl: target.url, catalog, kind: "apply", to: null });
    expect(basis.hash).toBe(original.hash);
  });

  it("is bound to the environment", async () => {
    const elsewhere = await planBasis({ environment: "production", targetUrl: target.url, catalog, kind: "apply", to: null });
    expect(elsewhere.hash).not.toBe(original.hash);
  });

  it("changes when a pending migration's file is edited", async () => {
    const edited = copyOfFolder(dir);
    appendTo(edited, "0008_performance_indexes.sql", "-- reviewed\n");
    const after = await plan(target, await loadCatalog(edited));
    expect(after.migrations.map((m) => m.tag)).toEqual(original.migrations.map((m) => m.tag));
    expect(after.migrations[1]!.checksum).not.toBe(original.migrations[1]!.checksum);
    expect(after.hash).not.toBe(original.hash);
  });

  it("changes when an applied migration's file is edited", async () => {
    const edited = copyOfFolder(dir);
    appendTo(edited, "0003_lgpd_consents.sql", "-- reviewed\n");
    const after = await plan(target, await loadCatalog(edited));
    expect(after.hash).not.toBe(original.hash);
  });

  it("changes when a new migration is added, unless the plan stops at an earlier tag", async () => {
    const grown = copyOfFolder(dir);
    addMigration(grown, {
      tag: "0009_patient_nickname",
      up: statements(`ALTER TABLE "patients" ADD COLUMN "nickname" text`),
      down: statements(`ALTER TABLE "patients" DROP COLUMN "nickname"`),
      when: catalog.latest!.when + 1000,
    });
    const grownCatalog = await loadCatalog(grown);
    const after = await plan(target, grownCatalog);
    expect(after.migrations.map((m) => m.tag)).toEqual(["0007_row_level_security", "0008_performance_indexes", "0009_patient_nickname"]);
    expect(after.hash).not.toBe(original.hash);

    const pinned = await plan(target, grownCatalog, { to: "0008_performance_indexes" });
    expect(pinned.migrations.map((m) => m.tag)).toEqual(["0007_row_level_security", "0008_performance_indexes"]);
    expect(pinned.hash).toBe(original.hash);
  });

  describe("when the target moved", () => {
    it("changes when someone applied one of the pending migrations", async () => {
      const moved = await targets.at(BEHIND);
      expect((await plan(moved, catalog)).hash).toBe(original.hash);
      await applyMigrations({ url: moved.url, catalog, to: "0007_row_level_security", actor: "someone-else" });
      const after = await plan(moved, catalog);
      expect(after.migrations.map((m) => m.tag)).toEqual(["0008_performance_indexes"]);
      expect(after.hash).not.toBe(original.hash);
    });

    it("changes when someone changed the schema by hand, though the same migrations are pending", async () => {
      const moved = await targets.at(BEHIND);
      await moved.sql`CREATE INDEX clinics_name_idx ON clinics (name)`;
      const after = await plan(moved, catalog);
      expect(after.migrations.map((m) => m.tag)).toEqual(original.migrations.map((m) => m.tag));
      expect(after.drift.drifted).toBe(true);
      expect(after.hash).not.toBe(original.hash);
    });

    it("does not change when only the data changed", async () => {
      const busy = await targets.at(BEHIND);
      await busy.sql`INSERT INTO clinics (name, cnpj) VALUES ('Clínica Boa Saúde', '11222333000181')`;
      expect((await plan(busy, catalog)).hash).toBe(original.hash);
    });
  });
});

describe("blockers", () => {
  it("an applied file edited since it ran: the plan says which and why, and is not rehearsed", async () => {
    const dir = copyOfFolder();
    appendTo(dir, "0003_lgpd_consents.sql", "-- a comment added after it ran\n");
    const target = await targets.at(BEHIND);
    const planned = await plan(target, await loadCatalog(dir));

    expect(planned.blockers).toHaveLength(1);
    expect(planned.blockers[0]).toMatch(/^An applied migration file was edited since it ran: 0003_lgpd_consents\. Restore it, or accept the new checksums/);
    expect(planned.rehearsal).toMatchObject({ ok: false, error: "Not rehearsed: the plan is blocked (see blockers)." });
    expect(planned.migrations).toEqual([]);
    expect(planned.schemaDiff).toBeNull();
    expect(planned.drift.drifted).toBe(false);
    expect((await readStatus(target.url, await loadCatalog(dir))).current).toBe(BEHIND);
  });

  describe("a target that cannot be reached", () => {
    const SECRET = "Sup3r-Secret-Pw";

    async function unreachable(targetUrl: string, code: string): Promise<ExecutorError> {
      const error = await plan(targetUrl, await realCatalog()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ExecutorError);
      const e = error as ExecutorError;
      expect(e.code).toBe(code);
      expect(e.message).toMatch(/^The staging target cannot be read: /);
      expect(e.message).not.toContain(SECRET);
      expect(JSON.stringify(e.toJSON())).not.toContain(SECRET);
      return e;
    }

    it("nothing listening on its port", async () => {
      const port = await freePort();
      const e = await unreachable(`postgres://postgres:${SECRET}@127.0.0.1:${port}/clinic`, "unreachable");
      expect(e.message).toContain("Connection refused");
    });

    it("a wrong password", async () => {
      const url = new URL(adminUrl(18));
      url.password = SECRET;
      const e = await unreachable(url.toString(), "auth_failed");
      expect(e.message).toMatch(/password authentication failed for user "postgres"/);
    });

    it("a database that does not exist", async () => {
      const url = new URL(adminUrl(18));
      url.pathname = "/no_such_clinic_db";
      const e = await unreachable(url.toString(), "database_missing");
      expect(e.message).toMatch(/database "no_such_clinic_db" does not exist/);
      expect(e.message).not.toContain(decodeURIComponent(new URL(adminUrl(18)).password));
    });
  });
});
