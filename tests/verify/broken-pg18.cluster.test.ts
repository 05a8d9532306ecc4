/**
 * Verification against deliberately broken databases on PostgreSQL 18: a healthy migrated and seeded
 * database is green, and each breakage turns exactly the checks it should red, with evidence naming the
 * object. Everything runs in one file, in order: one test creates a cluster-wide role with BYPASSRLS, and
 * a healthy verification of this server running at the same moment would rightly see it.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../support/databases";
import { brokenBy, clientFor, copyOf, describeRed, migratedSeededTemplate, redChecks, result, TENANT, verify, withAppMemberRole, type Template } from "./support";
import { CHECKS, runVerification } from "../../lib/verify";

let template: Template;
beforeAll(async () => {
  template = await migratedSeededTemplate(18);
});
afterAll(async () => template?.drop());

describe("a healthy migrated and seeded database", () => {
  it("is green: every check passes, only the seeded overdue anonymisations are reported", async () => {
    const report = await brokenBy(template, async () => {});
    expect(redChecks(report), describeRed(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.results.map((r) => r.checkId)).toEqual(CHECKS.map((c) => c.id));
    const overdue = result(report, "retention.anonymisation-overdue");
    expect(overdue.status).toBe("warn");
    expect(overdue.evidence.objects).toHaveLength(4);
    expect(report.counts).toEqual({ pass: CHECKS.length - 1, empty: 0, warn: 1, fail: 0, error: 0 });
    expect(report.serverVersionNum).toBeGreaterThanOrEqual(180000);
  });

  it("reads the catalog in the same number of queries with 60 more tables", async () => {
    const db = await copyOf(template);
    try {
      const before = await verify(db);
      await db.sql.unsafe(`DO $$
        BEGIN
          FOR i IN 1..60 LOOP
            EXECUTE format('CREATE TABLE public.extra_%s (id uuid PRIMARY KEY, clinic_id uuid NOT NULL)', i);
            EXECUTE format('ALTER TABLE public.extra_%s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', i);
            EXECUTE format('CREATE POLICY extra_%s_s ON public.extra_%s FOR SELECT TO app_user USING (${TENANT.replace(/'/g, "''")})', i, i);
            EXECUTE format('CREATE POLICY extra_%s_i ON public.extra_%s FOR INSERT TO app_user WITH CHECK (${TENANT.replace(/'/g, "''")})', i, i);
            EXECUTE format('CREATE POLICY extra_%s_u ON public.extra_%s FOR UPDATE TO app_user USING (${TENANT.replace(/'/g, "''")}) WITH CHECK (${TENANT.replace(/'/g, "''")})', i, i);
            EXECUTE format('CREATE POLICY extra_%s_d ON public.extra_%s FOR DELETE TO app_user USING (${TENANT.replace(/'/g, "''")})', i, i);
          END LOOP;
        END $$`);
      const after = await verify(db);
      expect(redChecks(after), describeRed(after)).toEqual([]);
      expect(result(after, "rls.forced").summary).toContain("68 tables");
      expect(after.queryCount).toBe(before.queryCount);
      // Two catalog transactions (BEGIN, SET, COMMIT each) and 8 sections, the probe (BEGIN, script,
      // ROLLBACK), 4 data checks.
      expect(after.queryCount).toBe(21);
    } finally {
      await db.drop();
    }
  });

  it("counts every statement it sends (queryCount matches what the client saw)", async () => {
    const db = await copyOf(template);
    let sent = 0;
    // fetch_types off: the array-type lookup a new connection makes is the client's, not verification's.
    const sql = postgres(db.url, { max: 4, onnotice: () => {}, fetch_types: false, debug: () => void sent++ });
    try {
      const report = await runVerification(sql);
      expect(redChecks(report), describeRed(report)).toEqual([]);
      expect(report.queryCount).toBe(sent);
    } finally {
      await sql.end();
      await db.drop();
    }
  });

  it("runs only the checks asked for, and refuses an unknown id", async () => {
    const db = await copyOf(template);
    try {
      const report = await verify(db, ["rls.forced", "indexes.no-invalid"]);
      expect(report.results.map((r) => [r.checkId, r.status])).toEqual([
        ["rls.forced", "pass"],
        ["indexes.no-invalid", "pass"],
      ]);
      await expect(runVerification(db.sql, { checks: ["rls.nope"] })).rejects.toThrow(/Unknown check id\(s\): rls\.nope/);
    } finally {
      await db.drop();
    }
  });

  it("does not pass the data checks when it connects as a role subject to RLS: they report that they could not run", async () => {
    const db = await copyOf(template);
    try {
      const report = await withAppMemberRole(db, "", async (role) => {
        const sql = clientFor(role.url);
        try {
          return await runVerification(sql);
        } finally {
          await sql.end();
        }
      });
      const errors = report.results.filter((r) => r.status === "error").map((r) => r.checkId);
      expect(errors).toEqual(["consent.hashes", "retention.audit-7-years", "retention.anonymisation-overdue", "telemedicine.active-sessions"]);
      expect(result(report, "consent.hashes").summary).toMatch(/subject to row level security/);
      // The catalog checks and the probe (as app_user, which the member may become) still run.
      expect(result(report, "isolation.behavioural").status).toBe("pass");
      expect(result(report, "rls.forced").status).toBe("pass");
    } finally {
      await db.drop();
    }
  });
});

describe("a database that was never migrated", () => {
  it("passes nothing by accident: only what holds without the schema passes", async () => {
    const db = await freshDatabase({ server: 18, prefix: "vempty" });
    try {
      const report = await verify(db);
      const green = report.results.filter((r) => r.status === "pass").map((r) => r.checkId);
      expect(green).toEqual(["server.version", "roles.no-bypass", "roles.no-table-ownership", "indexes.no-invalid"]);
      expect(result(report, "rls.forced")).toMatchObject({ status: "error", summary: expect.stringMatching(/^Could not verify: 8 tables of db\/schema are missing/) });
      expect(result(report, "isolation.behavioural").status).toBe("error");
      expect(report.ok).toBe(false);
    } finally {
      await db.drop();
    }
  });
});

describe("a broken database turns exactly the expected checks red", () => {
  it("RLS disabled on patients: rls.enabled, and the probe sees other clinics' patients", async () => {
    const report = await brokenBy(template, (db) => db.sql`ALTER TABLE patients DISABLE ROW LEVEL SECURITY`);
    expect(redChecks(report), describeRed(report)).toEqual(["isolation.behavioural", "rls.enabled"]);
    expect(result(report, "rls.enabled").evidence.objects).toEqual(["public.patients"]);
    expect(result(report, "rls.enabled").summary).toContain("health");
    expect(result(report, "isolation.behavioural").evidence.objects).toEqual(["public.patients"]);
  });

  it("FORCE missing on patients: rls.forced only (app_user is not the owner)", async () => {
    const report = await brokenBy(template, (db) => db.sql`ALTER TABLE patients NO FORCE ROW LEVEL SECURITY`);
    expect(redChecks(report), describeRed(report)).toEqual(["rls.forced"]);
    expect(result(report, "rls.forced").evidence.objects).toEqual(["public.patients"]);
    expect(result(report, "rls.forced").evidence.rows).toEqual([{ table: "public.patients", owner: "postgres" }]);
  });

  it("a policy USING (true): policies.using, and the probe sees other clinics' rows", async () => {
    const report = await brokenBy(template, (db) => db.sql`CREATE POLICY patients_peek ON patients FOR SELECT TO app_user USING (true)`);
    expect(redChecks(report), describeRed(report)).toEqual(["isolation.behavioural", "policies.using"]);
    expect(result(report, "policies.using").evidence.objects).toEqual(["policy patients_peek on public.patients"]);
    expect(result(report, "policies.using").evidence.sql).toContain("pg_policies");
    const leaks = result(report, "isolation.behavioural").evidence.rows!;
    expect(leaks).toContainEqual(expect.objectContaining({ table: "public.patients", probe: "other_visible", verdict: "leak" }));
    expect(leaks).toContainEqual(expect.objectContaining({ table: "public.patients", probe: "no_context_visible", verdict: "leak" }));
  });

  it("an UPDATE policy without WITH CHECK: policies.with-check (PostgreSQL then reuses USING, so the probe still cannot move a row)", async () => {
    const report = await brokenBy(template, async (db) => {
      await db.sql`DROP POLICY patients_tenant_update ON patients`;
      await db.sql.unsafe(`CREATE POLICY patients_tenant_update ON patients FOR UPDATE TO app_user USING (${TENANT})`);
    });
    expect(redChecks(report), describeRed(report)).toEqual(["policies.with-check"]);
    const check = result(report, "policies.with-check");
    expect(check.evidence.objects).toEqual(["policy patients_tenant_update on public.patients"]);
    expect(check.evidence.rows).toEqual([expect.objectContaining({ problem: "no WITH CHECK", command: "UPDATE" })]);
  });

  it("an UPDATE policy whose WITH CHECK lets a row move to another clinic: policies.with-check, and the probe moves one", async () => {
    const report = await brokenBy(template, async (db) => {
      await db.sql`DROP POLICY patients_tenant_update ON patients`;
      await db.sql.unsafe(`CREATE POLICY patients_tenant_update ON patients FOR UPDATE TO app_user USING (${TENANT}) WITH CHECK (true)`);
    });
    expect(redChecks(report), describeRed(report)).toEqual(["isolation.behavioural", "policies.with-check"]);
    expect(result(report, "policies.with-check").evidence.objects).toEqual(["policy patients_tenant_update on public.patients"]);
    expect(result(report, "isolation.behavioural").evidence.rows).toEqual([
      expect.objectContaining({ table: "public.patients", probe: "move_own", verdict: "leak" }),
    ]);
  });

  it("a DELETE policy on audit.audit_logs: append-only only (its predicate is the tenant's)", async () => {
    const report = await brokenBy(template, (db) =>
      db.sql.unsafe(`CREATE POLICY audit_logs_tenant_delete ON audit.audit_logs FOR DELETE TO app_user USING (${TENANT})`),
    );
    expect(redChecks(report), describeRed(report)).toEqual(["append-only.no-update-delete"]);
    expect(result(report, "append-only.no-update-delete").evidence.objects).toEqual(["policy audit_logs_tenant_delete on audit.audit_logs"]);
  });

  it("a denying DELETE policy on audit.audit_logs is allowed", async () => {
    const report = await brokenBy(template, (db) => db.sql`CREATE POLICY audit_logs_no_delete ON audit.audit_logs FOR DELETE TO app_user USING (false)`);
    expect(redChecks(report), describeRed(report)).toEqual([]);
  });

  it("a DELETE privilege on consent_records: append-only, naming the privilege", async () => {
    const report = await brokenBy(template, (db) => db.sql`GRANT DELETE ON consent_records TO app_user`);
    expect(redChecks(report), describeRed(report)).toEqual(["append-only.no-update-delete"]);
    expect(result(report, "append-only.no-update-delete").evidence.objects).toEqual(["privilege DELETE on public.consent_records to app_user"]);
  });

  it("an invalid index left by a failed CREATE UNIQUE INDEX CONCURRENTLY: indexes.no-invalid only", async () => {
    const report = await brokenBy(template, async (db) => {
      // Every clinic has many patients: the unique build fails and leaves the index behind, invalid.
      await expect(db.sql`CREATE UNIQUE INDEX CONCURRENTLY patients_one_per_clinic ON patients (clinic_id)`).rejects.toMatchObject({ code: "23505" });
    });
    expect(redChecks(report), describeRed(report)).toEqual(["indexes.no-invalid"]);
    expect(result(report, "indexes.no-invalid").evidence.objects).toEqual(["index public.patients_one_per_clinic (invalid)"]);
  });

  it("a declared index dropped: indexes.declared only", async () => {
    const report = await brokenBy(template, (db) => db.sql`DROP INDEX patients_cpf_hash_idx`);
    expect(redChecks(report), describeRed(report)).toEqual(["indexes.declared"]);
    expect(result(report, "indexes.declared").evidence.objects).toEqual(["index public.patients_cpf_hash_idx (missing)"]);
  });

  it("a stored consent hash that no longer recomputes: consent.hashes names the consent", async () => {
    let id = "";
    const report = await brokenBy(template, async (db) => {
      const [row] = await db.sql<{ id: string }[]>`select id from lgpd.lgpd_consents order by id limit 1`;
      id = row!.id;
      await db.sql`ALTER TABLE lgpd.lgpd_consents DISABLE TRIGGER lgpd_consents_guard_hash`;
      await db.sql`UPDATE lgpd.lgpd_consents SET consent_text = consent_text || ' (editado)' WHERE id = ${id}`;
      await db.sql`ALTER TABLE lgpd.lgpd_consents ENABLE TRIGGER lgpd_consents_guard_hash`;
    });
    expect(redChecks(report), describeRed(report)).toEqual(["consent.hashes"]);
    const check = result(report, "consent.hashes");
    expect(check.evidence.objects).toEqual([`lgpd.lgpd_consents ${id}`]);
    expect(check.evidence.rows).toEqual([expect.objectContaining({ id })]);
  });

  it("a disabled guard trigger: consent.trigger only", async () => {
    const report = await brokenBy(template, (db) => db.sql`ALTER TABLE lgpd.lgpd_consents DISABLE TRIGGER lgpd_consents_guard_hash`);
    expect(redChecks(report), describeRed(report)).toEqual(["consent.trigger"]);
    expect(result(report, "consent.trigger").evidence.objects).toEqual(["trigger lgpd_consents_guard_hash on lgpd.lgpd_consents (disabled)"]);
  });

  it("an application role with BYPASSRLS (a login member of app_user; app_user itself is never altered): roles.no-bypass only", async () => {
    const db = await copyOf(template);
    try {
      const report = await withAppMemberRole(db, "BYPASSRLS", () => verify(db));
      expect(redChecks(report), describeRed(report)).toEqual(["roles.no-bypass"]);
      const [object] = result(report, "roles.no-bypass").evidence.objects;
      expect(object).toMatch(/^role verify_member_[0-9a-f]+ \(BYPASSRLS, member of app_user\)$/);
    } finally {
      await db.drop();
    }
  });

  it("a table owned by app_user: roles.no-table-ownership only (FORCE keeps the owner under the policies)", async () => {
    const report = await brokenBy(template, (db) => db.sql`ALTER TABLE professionals OWNER TO app_user`);
    expect(redChecks(report), describeRed(report)).toEqual(["roles.no-table-ownership"]);
    expect(result(report, "roles.no-table-ownership").evidence.objects).toEqual(["public.professionals"]);
  });

  it("an append-only table owned by app_user: the owner's implicit UPDATE, DELETE, TRUNCATE break append-only too", async () => {
    const report = await brokenBy(template, (db) => db.sql`ALTER TABLE consent_records OWNER TO app_user`);
    expect(redChecks(report), describeRed(report)).toEqual(["append-only.no-update-delete", "roles.no-table-ownership"]);
    expect(result(report, "append-only.no-update-delete").evidence.objects).toEqual([
      "privilege DELETE on public.consent_records to app_user",
      "privilege TRUNCATE on public.consent_records to app_user",
      "privilege UPDATE on public.consent_records to app_user",
    ]);
  });

  it("a DELETE policy USING (true) behind a sound SELECT policy: policies.using, and the probe deletes another clinic's rows", async () => {
    const report = await brokenBy(template, async (db) => {
      await db.sql`DROP POLICY telemedicine_sessions_tenant_delete ON telemedicine_sessions`;
      await db.sql`CREATE POLICY telemedicine_sessions_tenant_delete ON telemedicine_sessions FOR DELETE TO app_user USING (true)`;
    });
    expect(redChecks(report), describeRed(report)).toEqual(["isolation.behavioural", "policies.using"]);
    expect(result(report, "isolation.behavioural").evidence.rows).toEqual([
      expect.objectContaining({ table: "public.telemedicine_sessions", probe: "delete_other", verdict: "leak" }),
    ]);
  });

  it("an active telemedicine session without CRM: telemedicine.active-sessions names it", async () => {
    let id = "";
    const report = await brokenBy(template, async (db) => {
      const [row] = await db.sql<{ id: string }[]>`
        update telemedicine_sessions set cfm_professional_crm = null, icp_brasil_cert_valid_to = now() - interval '1 day'
        where id = (select id from telemedicine_sessions where session_status = 'active' order by id limit 1) returning id`;
      id = row!.id;
    });
    expect(redChecks(report), describeRed(report)).toEqual(["telemedicine.active-sessions"]);
    const check = result(report, "telemedicine.active-sessions");
    expect(check.evidence.objects).toEqual([`public.telemedicine_sessions ${id}`]);
    expect(check.evidence.rows).toEqual([{ id, problems: ["no CRM", "certificate expired before the session"] }]);
  });

  it("a dropped column and a changed type: columns.types names both", async () => {
    const report = await brokenBy(template, async (db) => {
      await db.sql`ALTER TABLE patients DROP COLUMN patient_notes`;
      await db.sql`ALTER TABLE appointments ALTER COLUMN tuss_code TYPE varchar(8)`;
    });
    expect(redChecks(report), describeRed(report)).toEqual(["columns.types"]);
    expect(result(report, "columns.types").evidence.objects).toEqual(["public.patients.patient_notes", "public.appointments.tuss_code"]);
    expect(result(report, "columns.types").evidence.rows).toContainEqual({
      column: "public.appointments.tuss_code",
      problems: ["type character varying(8), expected text"],
    });
  });

  it("audit rows kept less than 7 years (the check constraint dropped first): the constraint and the retention check", async () => {
    const report = await brokenBy(template, async (db) => {
      await db.sql`ALTER TABLE audit.audit_logs DROP CONSTRAINT audit_logs_retention_7_years`;
      await db.sql`UPDATE audit.audit_logs SET retention_until = created_at + interval '1 year'
        WHERE id IN (SELECT id FROM audit.audit_logs ORDER BY created_at LIMIT 3)`;
    });
    expect(redChecks(report), describeRed(report)).toEqual(["constraints.declared", "retention.audit-7-years"]);
    expect(result(report, "constraints.declared").evidence.objects).toEqual(["constraint audit_logs_retention_7_years on audit.audit_logs"]);
    expect(result(report, "retention.audit-7-years").evidence.objects).toHaveLength(3);
    expect(result(report, "retention.audit-7-years").summary).toMatch(/^3 audit rows/);
  });
});
