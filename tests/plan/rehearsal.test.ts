/**
 * What a reviewer reads in a plan: the pending migrations and nothing else, each statement measured in a
 * rehearsal on a shadow database with its lock level, and the schema change as structured entries and as
 * text; for a rollback, the down scripts newest first. Planning never touches the target.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import { readStatus } from "../../lib/executor";
import type { Plan } from "../../lib/plan/plan";
import { schemaFingerprint, snapshotSchema } from "../../lib/introspect/schema-snapshot";
import { hasServer, type TestDatabase } from "../support/databases";
import { PG15_BIN } from "../setup/global-setup";
import { startScratchCluster } from "../support/scratch-cluster";
import { changesIn, plan, realCatalog, targetsAt } from "./support";

const RLS_TABLES = [
  "audit/audit_logs",
  "lgpd/lgpd_consents",
  "public/appointments",
  "public/clinics",
  "public/consent_records",
  "public/patients",
  "public/professionals",
  "public/telemedicine_sessions",
];

let catalog: Catalog;
let targets: Awaited<ReturnType<typeof targetsAt>>;

beforeAll(async () => {
  catalog = await realCatalog();
  targets = await targetsAt(catalog, ["0006_appointment_overlap", "0008_performance_indexes"], "plan_rehearsal");
});
afterAll(async () => targets?.dropAll());

const everyStatement = (p: Plan) => p.migrations.flatMap((m) => m.statements.map((s) => ({ tag: m.tag, ...s })));

describe("a target two migrations behind", () => {
  let target: TestDatabase;
  let planned: Plan;
  let fingerprintBefore: string;

  beforeAll(async () => {
    target = await targets.at("0006_appointment_overlap");
    fingerprintBefore = schemaFingerprint(await snapshotSchema(target.sql));
    planned = await plan(target, catalog);
  });

  it("lists exactly the two pending migrations, from the current version to the latest", () => {
    expect(planned.blockers).toEqual([]);
    expect(planned.from).toBe("0006_appointment_overlap");
    expect(planned.to).toBe("0008_performance_indexes");
    expect(planned.migrations.map((m) => m.tag)).toEqual(["0007_row_level_security", "0008_performance_indexes"]);
    expect(planned.migrations.map((m) => m.file)).toEqual(["migrations/0007_row_level_security.sql", "migrations/0008_performance_indexes.sql"]);
    expect(planned.migrations.map((m) => m.checksum)).toEqual([catalog.byTag("0007_row_level_security")!.checksum, catalog.byTag("0008_performance_indexes")!.checksum]);
    expect(planned.migrations.map((m) => m.statements.length)).toEqual([50, 21]);
  });

  it("rehearses every statement and reports how long each took", () => {
    expect(planned.rehearsal).toMatchObject({ ok: true, error: null });
    const statements = everyStatement(planned);
    expect(statements).toHaveLength(71);
    for (const s of statements) {
      expect(s.rehearsalMs, `${s.tag} statement ${s.number}`).toEqual(expect.any(Number));
      expect(s.rehearsalMs!).toBeGreaterThanOrEqual(0);
    }
    expect(planned.timings.rehearsalMs).toBeGreaterThan(0);
    // The rehearsal runs beside the target's schema read and the lint: the plan takes at least as long as either.
    expect(planned.timings.totalMs).toBeGreaterThanOrEqual(Math.max(planned.timings.basisMs, planned.timings.rehearsalMs));
  });

  it("reports each statement's lock level and whether it runs in a transaction", () => {
    const [rls, indexes] = planned.migrations;
    expect(rls!.transactional).toBe(true);
    const enable = rls!.statements.find((s) => s.summary.startsWith("ALTER TABLE public.patients"))!;
    expect(enable.lockLevel).toBe("ACCESS EXCLUSIVE");
    const policy = rls!.statements.find((s) => s.summary.includes("patients_tenant_select"))!;
    expect(policy).toMatchObject({ lockLevel: "ACCESS EXCLUSIVE", transactional: true, destructive: false });

    expect(indexes!.transactional).toBe(false);
    expect(new Set(indexes!.statements.map((s) => s.lockLevel))).toEqual(new Set(["SHARE UPDATE EXCLUSIVE"]));
    expect(indexes!.statements.every((s) => !s.transactional)).toBe(true);
    expect(indexes!.statements[0]).toMatchObject({ number: 1, line: 6 });
  });

  it("shows the schema change as structured entries: policies added, RLS enabled and forced, indexes added", () => {
    const diff = planned.schemaDiff!;
    const policies = changesIn(diff, "policies");
    expect(policies).toHaveLength(28);
    expect(policies.every((c) => c.startsWith("added "))).toBe(true);
    expect(policies).toContain("added public/patients/patients_tenant_select");
    expect(policies).toContain("added audit/audit_logs/audit_logs_tenant_insert");

    const tables = diff.changes.filter((c) => c.section === "tables");
    expect(tables.map((c) => c.key).sort()).toEqual(RLS_TABLES);
    for (const t of tables) {
      expect(t.change).toBe("changed");
      expect(t.fields.sort()).toEqual(["rlsEnabled", "rlsForced"]);
      expect(t.before).toMatchObject({ rlsEnabled: false, rlsForced: false });
      expect(t.after).toMatchObject({ rlsEnabled: true, rlsForced: true });
    }

    const patientPolicy = diff.changes.find((c) => c.key === "public/patients/patients_tenant_select")!;
    expect(patientPolicy.after).toMatchObject({ command: "SELECT", roles: ["app_user"], permissive: true });
    expect(changesIn(diff, "indexes")).toHaveLength(21);
    expect(changesIn(diff, "indexes")).toContain("added public/patients/patients_cpf_hash_idx");
    expect(changesIn(diff, "functions")).toEqual(["added public/set_clinic_context/p_clinic_id uuid, p_user_id uuid, p_role text"]);
    expect(changesIn(diff, "privileges")).toContain("added table/public/patients/app_user/SELECT");
    expect(diff.counts.removed).toBe(0);
  });

  it("shows the same change as a readable text diff", () => {
    const text = planned.schemaDiff!.text;
    expect(text).toContain("-table public.patients RLS disabled");
    expect(text).toContain("+table public.patients RLS enabled, forced");
    expect(text).toMatch(/^\+ {2}policy patients_tenant_select permissive SELECT to app_user using \(clinic_id = /m);
    expect(text).toMatch(/^\+ {2}index CREATE INDEX patients_cpf_hash_idx ON public\.patients USING hash \(cpf\)$/m);
    expect(text).toContain("+function public.set_clinic_context(p_clinic_id uuid, p_user_id uuid, p_role text)");
  });

  it("asks for compliance sign-off, since row level security and policies change", () => {
    expect(planned.requiresComplianceSignoff).toBe(true);
    expect(planned.findings.some((f) => f.requiresComplianceSignoff)).toBe(true);
  });

  it("leaves the target exactly as it was", async () => {
    expect((await readStatus(target.url, catalog)).current).toBe("0006_appointment_overlap");
    expect(schemaFingerprint(await snapshotSchema(target.sql))).toBe(fingerprintBefore);
    expect(planned.targetFingerprint).toBe(fingerprintBefore);
  });
});

describe("a rollback plan back to an earlier tag", () => {
  let target: TestDatabase;
  let planned: Plan;

  beforeAll(async () => {
    target = await targets.at("0008_performance_indexes");
    planned = await plan(target, catalog, { kind: "rollback", to: "0006_appointment_overlap" });
  });

  it("lists the down scripts of everything applied after that tag, newest first", () => {
    expect(planned.blockers).toEqual([]);
    expect(planned).toMatchObject({ kind: "rollback", from: "0008_performance_indexes", to: "0006_appointment_overlap" });
    expect(planned.migrations.map((m) => m.tag)).toEqual(["0008_performance_indexes", "0007_row_level_security"]);
    expect(planned.migrations.map((m) => m.file)).toEqual(["migrations/0008_performance_indexes.down.sql", "migrations/0007_row_level_security.down.sql"]);
    expect(planned.migrations.map((m) => m.checksum)).toEqual([
      catalog.byTag("0008_performance_indexes")!.down!.checksum,
      catalog.byTag("0007_row_level_security")!.down!.checksum,
    ]);
    expect(planned.migrations[0]!.sql).toContain("DROP INDEX CONCURRENTLY");
  });

  it("rehearses the down scripts, statement by statement, with their lock levels", () => {
    expect(planned.rehearsal).toMatchObject({ ok: true, error: null });
    const statements = everyStatement(planned);
    expect(statements).toHaveLength(21 + 49);
    for (const s of statements) expect(s.rehearsalMs, `${s.tag} statement ${s.number}`).toEqual(expect.any(Number));
    expect(planned.migrations[0]!.transactional).toBe(false);
    expect(new Set(planned.migrations[0]!.statements.map((s) => s.lockLevel))).toEqual(new Set(["SHARE UPDATE EXCLUSIVE"]));
    const dropPolicy = planned.migrations[1]!.statements.find((s) => s.summary.includes("patients_tenant_select"))!;
    expect(dropPolicy.lockLevel).toBe("ACCESS EXCLUSIVE");
  });

  it("shows what the rollback takes away: indexes, policies, RLS", () => {
    const diff = planned.schemaDiff!;
    expect(changesIn(diff, "indexes")).toHaveLength(21);
    expect(changesIn(diff, "indexes").every((c) => c.startsWith("removed "))).toBe(true);
    expect(changesIn(diff, "policies")).toHaveLength(28);
    expect(changesIn(diff, "policies").every((c) => c.startsWith("removed "))).toBe(true);
    const clinics = diff.changes.find((c) => c.section === "tables" && c.key === "public/clinics")!;
    expect(clinics.after).toMatchObject({ rlsEnabled: false, rlsForced: false });
    expect(diff.counts.added).toBe(0);
    expect(diff.text).toContain("-  policy clinics_tenant_select permissive SELECT to app_user");
  });

  it("leaves the target at its version", async () => {
    expect((await readStatus(target.url, catalog)).current).toBe("0008_performance_indexes");
  });
});

describe.runIf(hasServer(15))("on PostgreSQL 15 (target, and a shadow cluster of its own)", () => {
  let pg15: Awaited<ReturnType<typeof targetsAt>>;
  let shadow15: Awaited<ReturnType<typeof startScratchCluster>>;
  beforeAll(async () => {
    [pg15, shadow15] = await Promise.all([targetsAt(catalog, ["0006_appointment_overlap"], "plan_pg15", 15), startScratchCluster({ binDir: PG15_BIN })]);
  });
  afterAll(async () => {
    await pg15?.dropAll();
    shadow15?.destroy();
  });

  it("plans, rehearses and diffs the same two migrations, with no drift", async () => {
    const target = await pg15.at("0006_appointment_overlap");
    const planned = await plan(target, catalog, { shadow: { adminUrl: shadow15.url() } });
    expect(planned.blockers).toEqual([]);
    expect(planned.drift.drifted).toBe(false);
    expect(planned.rehearsal).toMatchObject({ ok: true, error: null });
    expect(planned.migrations.map((m) => m.tag)).toEqual(["0007_row_level_security", "0008_performance_indexes"]);
    expect(everyStatement(planned).every((s) => typeof s.rehearsalMs === "number")).toBe(true);
    expect(changesIn(planned.schemaDiff, "policies")).toHaveLength(28);
    expect(changesIn(planned.schemaDiff, "indexes")).toHaveLength(21);
  });
});
