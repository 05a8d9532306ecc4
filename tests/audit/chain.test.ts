import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAuditEvent, verifyAuditChain } from "../../lib/audit/log";
import { freshStore } from "../support/store";

describe("the audit log", () => {
  let ctx: Awaited<ReturnType<typeof freshStore>>;
  beforeAll(async () => {
    ctx = await freshStore();
  });
  afterAll(async () => ctx.close());

  const actor = { id: null, email: "tester@demo.local" };

  it("links every event to the one before it, also under concurrent appends", async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        ctx.store.db.transaction((tx) => appendAuditEvent(tx, actor, { action: "test.event", subjectType: "test", subjectId: String(i), details: { i, nested: { b: 1, a: 2 } } })),
      ),
    );
    const result = await verifyAuditChain(ctx.store.db);
    expect(result).toMatchObject({ ok: true, checked: 12 });
  });

  it("refuses UPDATE and DELETE, even from the table's owner", async () => {
    await expect(ctx.database.sql`update audit_events set action = 'forged'`).rejects.toThrow(/append-only/);
    await expect(ctx.database.sql`delete from audit_events`).rejects.toThrow(/append-only/);
    await expect(ctx.database.sql`truncate audit_events`).rejects.toThrow(/append-only/);
  });

  it("detects an event edited by a superuser behind the trigger's back", async () => {
    await ctx.database.sql.begin(async (tx) => {
      await tx`alter table audit_events disable trigger audit_events_no_update_delete`;
      await tx`update audit_events set details = '{"i": 99}' where id = (select min(id) + 3 from audit_events)`;
      await tx`alter table audit_events enable trigger audit_events_no_update_delete`;
    });
    const result = await verifyAuditChain(ctx.store.db);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/altered/);
  });

  it("detects an event removed behind the trigger's back", async () => {
    const { store, database } = await freshStore().then((c) => ((ctx2 = c), c));
    for (let i = 0; i < 3; i++) await appendAuditEvent(store.db, actor, { action: "test.event", subjectType: "test" });
    await database.sql.begin(async (tx) => {
      await tx`alter table audit_events disable trigger audit_events_no_update_delete`;
      await tx`delete from audit_events where id = (select min(id) + 1 from audit_events)`;
      await tx`alter table audit_events enable trigger audit_events_no_update_delete`;
    });
    const result = await verifyAuditChain(store.db);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/removed or reordered/);
    await ctx2.close();
  });
});

let ctx2: Awaited<ReturnType<typeof freshStore>>;
