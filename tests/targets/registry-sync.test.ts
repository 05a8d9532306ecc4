import { eq } from "drizzle-orm";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRegistry } from "../../lib/config/env";
import { parseEnvironmentRegistry } from "../../lib/config/environments";
import { auditEvents, environments } from "../../lib/store/schema";
import { syncEnvironments } from "../../lib/targets/registry-sync";
import { freshStore } from "../support/store";

const root = path.resolve(import.meta.dirname, "../..");

describe("mirroring the environment registry into the store", () => {
  let ctx: Awaited<ReturnType<typeof freshStore>>;
  beforeAll(async () => {
    ctx = await freshStore();
  });
  afterAll(async () => ctx.close());

  it("registers each environment once, and audits a changed gate policy with before and after", async () => {
    const registry = loadRegistry({}, root);
    await syncEnvironments(ctx.store.db, registry);
    await syncEnvironments(ctx.store.db, registry); // a restart changes nothing
    const registered = await ctx.store.db.select().from(auditEvents).where(eq(auditEvents.action, "environment.registered"));
    expect(registered.map((e) => e.subjectId).sort()).toEqual(["local", "production", "staging"]);

    const stricter = parseEnvironmentRegistry(
      { environments: registry.environments.map((e) => ({ name: e.name, label: e.label, urlEnv: e.urlEnv, gates: e.name === "staging" ? { ...e.gates, releaseManagerApprovals: 2 } : e.gates })) },
      {},
    );
    await syncEnvironments(ctx.store.db, stricter);
    const [changed] = await ctx.store.db.select().from(auditEvents).where(eq(auditEvents.action, "environment.changed"));
    expect(changed).toMatchObject({ subjectId: "staging", details: { before: { gatePolicy: { releaseManagerApprovals: 1 } }, after: { gatePolicy: { releaseManagerApprovals: 2 } } } });
    const [staging] = await ctx.store.db.select().from(environments).where(eq(environments.name, "staging"));
    expect(staging!.gatePolicy.releaseManagerApprovals).toBe(2);
  });
});
