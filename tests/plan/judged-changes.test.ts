/**
 * Findings from what a change does, not how it is spelled: the rehearsal's schema diff feeds the
 * compliance rules, so a tagged table or column that disappears (DROP SCHEMA … CASCADE, DROP DOMAIN …
 * CASCADE, a rename), RLS or FORCE switched off, a policy removed or loosened, or a privilege granted
 * beyond app_user each require compliance sign-off, even when hidden in a DO block. Drift is judged the
 * same way. Each fires on its case and stays quiet on its safe alternative.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { applyMigrations } from "../../lib/executor";
import type { Plan } from "../../lib/plan/plan";
import { complianceReasons } from "../../lib/plan/compliance";
import { addMigration, copyOfFolder, removeFixtureFolders } from "../executor/support";
import { plan, realCatalog, targetsAt } from "./support";

const LATEST = "0008_performance_indexes";
let real: Catalog;
let targets: Awaited<ReturnType<typeof targetsAt>>;

beforeAll(async () => {
  real = await realCatalog();
  targets = await targetsAt(real, [LATEST], "plan_judged");
});
afterAll(async () => {
  await targets?.dropAll();
  removeFixtureFolders();
});

/** Plans `pending` (one migration after the real history) on a target at the latest real migration, after `applied` ran there as migrations. */
async function planPending(pending: string, applied: string[] = []): Promise<Plan> {
  const dir = copyOfFolder();
  const after = (n: number) => real.latest!.when + 1000 * (n + 1);
  applied.forEach((up, i) => addMigration(dir, { tag: `${String(9 + i).padStart(4, "0")}_applied_${i}`, up, when: after(i) }));
  addMigration(dir, { tag: `${String(9 + applied.length).padStart(4, "0")}_pending`, up: pending, when: after(applied.length) });
  const catalog = await loadCatalog(dir);
  const target = await targets.at(LATEST);
  if (applied.length > 0) await applyMigrations({ url: target.url, catalog, to: catalog.migrations.at(-2)!.tag, actor: "test-setup" });
  const planned = await plan(target, catalog);
  expect(planned.blockers, pending).toEqual([]);
  expect(planned.rehearsal, pending).toMatchObject({ ok: true });
  return planned;
}

const diffRules = (p: Plan) => p.findings.filter((f) => f.rule.startsWith("console/diff-"));
const ofRule = (p: Plan, rule: string) => p.findings.filter((f) => f.rule === rule);
const doBlock = (sql: string) => `DO $$ BEGIN EXECUTE ${`'${sql.replace(/'/g, "''")}'`}; END $$;`;

describe("tagged data that disappears, however it is spelled", () => {
  it("DROP SCHEMA audit CASCADE: audit.audit_logs disappears, an error that needs sign-off", async () => {
    const planned = await planPending("DROP SCHEMA audit CASCADE;");
    const [hit, ...more] = ofRule(planned, "console/diff-tagged-table-removed");
    expect(more).toEqual([]);
    expect(hit).toMatchObject({ severity: "error", requiresComplianceSignoff: true, tag: "0009_pending", statement: 1, line: 1 });
    expect(hit!.message).toMatch(/^audit\.audit_logs \(holding \[PD\] personal data\) disappears by this plan/);
    expect(planned.requiresComplianceSignoff).toBe(true);
  });

  it("DROP SCHEMA … CASCADE of a schema holding nothing tagged: no such finding", async () => {
    const planned = await planPending("DROP SCHEMA reports CASCADE;", ["CREATE SCHEMA reports;\n--> statement-breakpoint\nCREATE TABLE reports.daily (day date PRIMARY KEY, visits integer);"]);
    expect(diffRules(planned)).toEqual([]);
  });

  it("DROP DOMAIN … CASCADE removing the tagged column patients.cpf: sign-off, though no statement names the column", async () => {
    const planned = await planPending("DROP DOMAIN public.cpf_digits CASCADE;", [
      "CREATE DOMAIN public.cpf_digits AS text;\n--> statement-breakpoint\nALTER TABLE patients ALTER COLUMN cpf TYPE public.cpf_digits;",
    ]);
    const [hit] = ofRule(planned, "console/diff-tagged-column-removed");
    expect(hit).toMatchObject({ severity: "error", requiresComplianceSignoff: true });
    expect(hit!.message).toContain("public.patients.cpf (tagged [ID] identifier) disappears");
    expect(planned.requiresComplianceSignoff).toBe(true);
  });

  it("a tagged table renamed: the finding says to what", async () => {
    const planned = await planPending("ALTER TABLE public.patients RENAME TO people;");
    const [hit] = ofRule(planned, "console/diff-tagged-table-removed");
    expect(hit!.message).toContain("public.patients (holding [ID] identifier, [PD] personal, [HEALTH] health data) is renamed to public.people");
    expect(hit!.requiresComplianceSignoff).toBe(true);
  });

  it("a tagged column's type changed inside a DO block: sign-off; an untagged one's: none", async () => {
    const planned = await planPending(doBlock("ALTER TABLE patients ALTER COLUMN rg TYPE varchar(40)"));
    expect(ofRule(planned, "console/diff-tagged-column-retyped")[0]!.message).toMatch(/public\.patients\.rg \(tagged \[ID\] identifier\) changes type from .* to character varying\(40\)/);
    const quiet = await planPending(doBlock("ALTER TABLE patients ALTER COLUMN medical_record_number TYPE varchar(99)"));
    expect(diffRules(quiet)).toEqual([]);
  });
});

describe("tenant isolation", () => {
  it("FORCE row level security switched off (in a DO block): an error needing sign-off; FORCE kept: nothing", async () => {
    const planned = await planPending(doBlock("ALTER TABLE patients NO FORCE ROW LEVEL SECURITY"));
    const [hit] = ofRule(planned, "console/diff-rls-off");
    expect(hit).toMatchObject({ severity: "error", requiresComplianceSignoff: true });
    expect(hit!.message).toBe("public.patients loses FORCE ROW LEVEL SECURITY by this plan.");
    expect(diffRules(await planPending("ALTER TABLE patients FORCE ROW LEVEL SECURITY;"))).toEqual([]);
  });

  it("a policy removed: a finding; one replaced by an identical one: none", async () => {
    const removed = await planPending(doBlock('DROP POLICY "patients_tenant_select" ON public.patients'));
    expect(ofRule(removed, "console/diff-policy-removed")[0]!.message).toBe("Policy patients_tenant_select on public.patients disappears by this plan.");
    const replaced = await planPending(
      `DROP POLICY "patients_tenant_select" ON public.patients;\n--> statement-breakpoint\nCREATE POLICY "patients_tenant_select" ON public.patients AS PERMISSIVE FOR SELECT TO app_user USING ("clinic_id" = NULLIF(current_setting('app.current_clinic_id', true), '')::uuid);`,
    );
    expect(diffRules(replaced)).toEqual([]);
  });

  it("a policy loosened to every row: an error that says how", async () => {
    const planned = await planPending(doBlock('ALTER POLICY "patients_tenant_select" ON public.patients USING (true)'));
    const [hit] = ofRule(planned, "console/diff-policy-loosened");
    expect(hit).toMatchObject({ severity: "error", requiresComplianceSignoff: true });
    expect(hit!.message).toContain("USING no longer requires the clinic");
  });

  it("a privilege granted beyond app_user: an error; one granted to app_user: none", async () => {
    const planned = await planPending(doBlock("GRANT SELECT ON public.patients TO PUBLIC"));
    const [hit] = ofRule(planned, "console/diff-privilege-beyond-app-role");
    expect(hit!.message).toBe("PUBLIC (every role) gains SELECT on table public.patients by this plan.");
    expect(hit!.requiresComplianceSignoff).toBe(true);
    expect(diffRules(await planPending("GRANT SELECT ON public.patients TO app_user;"))).toEqual([]);
  });

  it("a rule the statement lint already reported is not repeated from the diff", async () => {
    const planned = await planPending("ALTER TABLE patients NO FORCE ROW LEVEL SECURITY;");
    expect(ofRule(planned, "console/no-force-rls")).toHaveLength(1);
    expect(ofRule(planned, "console/diff-rls-off")).toEqual([]);
  });
});

describe("drift is judged the same way", () => {
  it("RLS switched off by hand on the target: a drift finding that needs sign-off", async () => {
    const target = await targets.at(LATEST);
    await target.sql.unsafe("ALTER TABLE patients DISABLE ROW LEVEL SECURITY");
    const planned = await plan(target, real);
    expect(planned.drift.drifted).toBe(true);
    expect(planned.drift.findings).toEqual([
      expect.objectContaining({ rule: "console/diff-rls-off", severity: "error", requiresComplianceSignoff: true, message: "public.patients loses row level security on the target, outside the console." }),
    ]);
    expect(planned.requiresComplianceSignoff).toBe(true);
  });

  it("an index added by hand: drifted, but nothing for compliance", async () => {
    const target = await targets.at(LATEST);
    await target.sql.unsafe("CREATE INDEX patients_rg_idx ON patients (rg)");
    const planned = await plan(target, real);
    expect(planned.drift.drifted).toBe(true);
    expect(planned.drift.findings).toEqual([]);
    expect(planned.requiresComplianceSignoff).toBe(false);
  });
});

/**
 * One rule for both: the same change, made by a pending migration (rehearsal) or by hand on the target
 * (drift), gets the same findings, in the same words but for who did it, and the same sign-off.
 */
describe("drift and rehearsal judge the same change the same way", () => {
  const asRehearsal = (p: Plan) => diffRules(p).map((f) => `${f.rule} ${f.severity} ${f.message.replace(" by this plan", " <by>")}`);
  const asDrift = (p: Plan) =>
    p.drift.findings.filter((f) => f.requiresComplianceSignoff).map((f) => `${f.rule} ${f.severity} ${f.message.replace(" on the target, outside the console", " <by>")}`);

  async function judgedBoth(change: string): Promise<{ rehearsal: string[]; drift: string[]; driftPlan: Plan }> {
    // In a DO block, so that no statement rule speaks first and the diff's findings all reach the plan.
    const rehearsed = await planPending(doBlock(change));
    const target = await targets.at(LATEST);
    await target.sql.unsafe(change);
    const driftPlan = await plan(target, real);
    return { rehearsal: asRehearsal(rehearsed).sort(), drift: asDrift(driftPlan).sort(), driftPlan };
  }

  const CASES: [string, string, string][] = [
    ["a tagged table removed", "DROP TABLE audit.audit_logs CASCADE", "console/diff-tagged-table-removed"],
    ["a tagged table renamed", "ALTER TABLE public.patients RENAME TO people", "console/diff-tagged-table-removed"],
    ["a tagged column removed", "ALTER TABLE public.patients DROP COLUMN rg CASCADE", "console/diff-tagged-column-removed"],
    ["a tagged column renamed", "ALTER TABLE public.patients RENAME COLUMN rg TO rg_number", "console/diff-tagged-column-removed"],
    ["a tagged column retyped", "ALTER TABLE public.patients ALTER COLUMN rg TYPE varchar(40)", "console/diff-tagged-column-retyped"],
    ["RLS switched off", "ALTER TABLE public.patients DISABLE ROW LEVEL SECURITY", "console/diff-rls-off"],
    ["FORCE switched off", "ALTER TABLE public.patients NO FORCE ROW LEVEL SECURITY", "console/diff-rls-off"],
    ["a policy removed", 'DROP POLICY "patients_tenant_select" ON public.patients', "console/diff-policy-removed"],
    ["a policy loosened", `ALTER POLICY "patients_tenant_select" ON public.patients USING (true)`, "console/diff-policy-loosened"],
    ["a permissive policy added without the clinic", "CREATE POLICY patients_open ON public.patients FOR SELECT TO app_user USING (true)", "console/diff-policy-loosened"],
    ["a privilege beyond app_user", "GRANT SELECT ON public.patients TO PUBLIC", "console/diff-privilege-beyond-app-role"],
  ];
  for (const [name, change, rule] of CASES) {
    it(`${name}: the same finding, needing sign-off either way`, async () => {
      const { rehearsal, drift, driftPlan } = await judgedBoth(change);
      expect(rehearsal.some((f) => f.startsWith(`${rule} `)), rehearsal.join("\n")).toBe(true);
      expect(drift).toEqual(rehearsal);
      expect(driftPlan.requiresComplianceSignoff).toBe(true);
      expect(complianceReasons(driftPlan)).toEqual(expect.arrayContaining(driftPlan.drift.findings.map((f) => `Drift: ${f.message}`)));
    });
  }

  it("a restrictive policy added, an untagged column retyped, an index added: nothing for compliance either way", async () => {
    for (const change of [
      "CREATE POLICY patients_narrow ON public.patients AS RESTRICTIVE FOR SELECT TO app_user USING (data_anonymized_at IS NULL)",
      "ALTER TABLE public.patients ALTER COLUMN medical_record_number TYPE varchar(99)",
      "CREATE INDEX patients_rg_idx ON public.patients (rg)",
    ]) {
      const { rehearsal, drift, driftPlan } = await judgedBoth(change);
      expect(rehearsal, change).toEqual([]);
      expect(drift, change).toEqual([]);
      expect(complianceReasons(driftPlan), change).toEqual([]);
    }
  });
});
