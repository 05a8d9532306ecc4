/**
 * Drift: the live schema against what its applied migrations produce. A change made by hand on the
 * target is reported in words and named in the diff; a clean target is not drifted, including when the
 * shadow server's user is not the role that owns the target's objects.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Catalog } from "../../lib/migrations";
import type { Plan } from "../../lib/plan/plan";
import { changesIn, dedicatedShadowRole, plan, realCatalog, targetsAt } from "./support";

const AT = "0007_row_level_security";

let catalog: Catalog;
let targets: Awaited<ReturnType<typeof targetsAt>>;

beforeAll(async () => {
  catalog = await realCatalog();
  targets = await targetsAt(catalog, [AT], "plan_drift");
});
afterAll(async () => targets?.dropAll());

/** A plan for a copy of the target at 0007 after `byHand` ran on it outside any migration. */
async function planAfter(byHand: string | null, shadow?: { adminUrl: string }): Promise<Plan> {
  const target = await targets.at(AT);
  if (byHand) await target.sql.unsafe(byHand);
  return plan(target, catalog, { environment: "production", shadow });
}

describe("drift", () => {
  it("a target that only ever changed through its migrations is not drifted", async () => {
    const planned = await planAfter(null);
    expect(planned.drift).toEqual({ drifted: false, explanation: expect.stringMatching(/exactly what its applied migrations produce/), diff: null, findings: [] });
  });

  it("an index created by hand: drifted, explained in words, the diff names the index", async () => {
    const planned = await planAfter(`CREATE INDEX patients_birth_date_idx ON patients (birth_date)`);
    expect(planned.drift.drifted).toBe(true);
    expect(planned.drift.explanation).toMatch(/^The live production schema differs from what its applied migrations produce \(1 added\): someone changed it by hand/);
    expect(changesIn(planned.drift.diff, "indexes")).toEqual(["added public/patients/patients_birth_date_idx"]);
    expect(planned.drift.diff!.changes).toHaveLength(1);
    expect(planned.drift.diff!.text).toContain("+  index CREATE INDEX patients_birth_date_idx ON public.patients USING btree (birth_date)");
  });

  it("a column added by hand: the diff names the column and its type", async () => {
    const planned = await planAfter(`ALTER TABLE patients ADD COLUMN nickname text`);
    expect(planned.drift.drifted).toBe(true);
    expect(changesIn(planned.drift.diff, "columns")).toEqual(["added public/patients/nickname"]);
    expect(planned.drift.diff!.text).toContain("+  column nickname text");
  });

  it("row level security switched off by hand on patients: the diff shows the flag that changed", async () => {
    const planned = await planAfter(`ALTER TABLE patients DISABLE ROW LEVEL SECURITY`);
    expect(planned.drift.drifted).toBe(true);
    const [change] = planned.drift.diff!.changes;
    expect(change).toMatchObject({ section: "tables", change: "changed", key: "public/patients", fields: ["rlsEnabled"], before: { rlsEnabled: true }, after: { rlsEnabled: false } });
    expect(planned.drift.diff!.text).toContain("-table public.patients RLS enabled, forced");
    expect(planned.drift.diff!.text).toContain("+table public.patients RLS disabled, forced");
  });

  it("the rehearsal still runs on the schema the migrations imply, so the drift does not leak into the planned change", async () => {
    const planned = await planAfter(`CREATE INDEX patients_birth_date_idx ON patients (birth_date)`);
    expect(planned.rehearsal.ok).toBe(true);
    expect(planned.migrations.map((m) => m.tag)).toEqual(["0008_performance_indexes"]);
    expect(changesIn(planned.schemaDiff, "indexes")).toHaveLength(21);
    expect(changesIn(planned.schemaDiff, "indexes")).not.toContain("added public/patients/patients_birth_date_idx");
  });
});

describe("drift when the shadow server's user is not the target's owner (a separate SHADOW_DATABASE_URL role)", () => {
  let shadowRole: Awaited<ReturnType<typeof dedicatedShadowRole>>;
  let shadowUrl: string;

  beforeAll(async () => {
    shadowRole = await dedicatedShadowRole("drift");
    shadowUrl = shadowRole.shadow.adminUrl;
  });
  afterAll(async () => shadowRole?.drop());

  it("a clean target is not drifted: the owner's own privileges are not a difference", async () => {
    const planned = await planAfter(null, { adminUrl: shadowUrl });
    expect(planned.drift.diff?.changes.slice(0, 3) ?? []).toEqual([]);
    expect(planned.drift.drifted).toBe(false);
    expect(planned.rehearsal.ok).toBe(true);
  });

  it("a change by hand is still reported, and only that change", async () => {
    const planned = await planAfter(`CREATE INDEX patients_birth_date_idx ON patients (birth_date)`, { adminUrl: shadowUrl });
    expect(planned.drift.drifted).toBe(true);
    expect(planned.drift.diff!.changes.map((c) => `${c.change} ${c.key}`)).toEqual(["added public/patients/patients_birth_date_idx"]);
  });

  it("a privilege granted by hand is reported", async () => {
    const planned = await planAfter(`GRANT SELECT ON patients TO PUBLIC`, { adminUrl: shadowUrl });
    expect(planned.drift.diff!.changes.map((c) => `${c.change} ${c.key}`)).toEqual(["added table/public/patients/PUBLIC/SELECT"]);
  });
});
