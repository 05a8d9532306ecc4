/**
 * The evidence bundle's backups come from the target's own ledger. When that target cannot be read,
 * the bundle must say so, not present an empty list of backups as the period's record.
 */
import { strFromU8, unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEvidenceBundle } from "../../lib/verify/evidence-bundle";
import type { EnvironmentRegistry } from "../../lib/config/environments";
import { EMAIL, startTestConsole, type TestConsole } from "../support/console";

let c: TestConsole;
beforeAll(async () => {
  c = await startTestConsole({ local: 0 }, { worker: false });
}, 120_000);
afterAll(async () => {
  await c?.close();
});

describe("the evidence bundle of an environment whose target cannot be read", () => {
  it("says in backups.json and the report that its backups could not be read, without the URL's password", async () => {
    const registry = c.deps.registry;
    const unreachable: EnvironmentRegistry = {
      ...registry,
      byName: (name) => {
        const env = registry.byName(name);
        return env && { ...env, url: "postgres://migrator:s3cret-pw@127.0.0.1:1/target" };
      },
    };
    const today = new Date().toISOString().slice(0, 10);
    const actor = await c.actor(EMAIL.compliance);
    const bundle = await buildEvidenceBundle(c.store, unreachable, { environment: "local", from: today, to: today }, actor, { timeZone: "UTC", signingKeyPem: null });
    const files = Object.fromEntries(Object.entries(unzipSync(bundle.zip)).map(([name, data]) => [name, strFromU8(data)]));
    const backups = JSON.parse(files["backups.json"]!) as { events: unknown[]; unreachable?: string };
    expect(backups.events).toEqual([]);
    expect(backups.unreachable).toMatch(/could not be read/);
    expect(files["report.html"]).toMatch(/could not be read/);
    for (const text of Object.values(files)) expect(text).not.toContain("s3cret-pw");
  });
});
