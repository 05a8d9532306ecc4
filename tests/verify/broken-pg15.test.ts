/**
 * The same verification on PostgreSQL 15, the oldest release the platform runs: its catalogs differ
 * (pg_auth_members has no inherit/set options, pg_get_expr prints the same trees), so a healthy database
 * is green there too and the policy, index and consent breakages are seen the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKS } from "../../lib/verify";
import { hasServer } from "../support/databases";
import { brokenBy, describeRed, migratedSeededTemplate, redChecks, result, TENANT, type Template } from "./support";

describe.runIf(hasServer(15))("verification on PostgreSQL 15", () => {
  let template: Template;
  beforeAll(async () => {
    template = await migratedSeededTemplate(15);
  });
  afterAll(async () => template?.drop());


  it("is green on a healthy migrated and seeded database", async () => {
    const report = await brokenBy(template, async () => {});
    expect(redChecks(report), describeRed(report)).toEqual([]);
    expect(report.serverVersionNum).toBeGreaterThanOrEqual(150000);
    expect(report.serverVersionNum).toBeLessThan(160000);
    expect(report.counts).toEqual({ pass: CHECKS.length - 1, empty: 0, warn: 1, fail: 0, error: 0 });
  });

  it("sees a policy USING (true)", async () => {
    const report = await brokenBy(template, (db) => db.sql`CREATE POLICY patients_peek ON patients FOR SELECT TO app_user USING (true)`);
    expect(redChecks(report), describeRed(report)).toEqual(["isolation.behavioural", "policies.using"]);
    expect(result(report, "policies.using").evidence.objects).toEqual(["policy patients_peek on public.patients"]);
  });

  it("sees an UPDATE policy without WITH CHECK", async () => {
    const report = await brokenBy(template, async (db) => {
      await db.sql`DROP POLICY patients_tenant_update ON patients`;
      await db.sql.unsafe(`CREATE POLICY patients_tenant_update ON patients FOR UPDATE TO app_user USING (${TENANT})`);
    });
    expect(redChecks(report), describeRed(report)).toEqual(["policies.with-check"]);
  });

  it("sees an invalid index and a consent hash that no longer recomputes", async () => {
    const report = await brokenBy(template, async (db) => {
      await expect(db.sql`CREATE UNIQUE INDEX CONCURRENTLY patients_one_per_clinic ON patients (clinic_id)`).rejects.toMatchObject({ code: "23505" });
      await db.sql`ALTER TABLE lgpd.lgpd_consents DISABLE TRIGGER lgpd_consents_guard_hash`;
      await db.sql`UPDATE lgpd.lgpd_consents SET processing_purpose = 'outro' WHERE id = (SELECT min(id::text)::uuid FROM lgpd.lgpd_consents)`;
      await db.sql`ALTER TABLE lgpd.lgpd_consents ENABLE TRIGGER lgpd_consents_guard_hash`;
    });
    expect(redChecks(report), describeRed(report)).toEqual(["consent.hashes", "indexes.no-invalid"]);
    expect(result(report, "indexes.no-invalid").evidence.objects).toEqual(["index public.patients_one_per_clinic (invalid)"]);
    expect(result(report, "consent.hashes").evidence.objects).toHaveLength(1);
  });
});
