/**
 * Planning a cluster-wide change never touches a real role: `ALTER ROLE app_user BYPASSRLS` is rehearsed
 * on a cluster that hosts no target, in the demo configuration (the embedded demo's second cluster) and
 * in real use (a SHADOW_DATABASE_URL on another server). Every target's roles are exactly as before, the
 * plan names the statement as cluster-wide, and the shadow cluster's roles are put back afterwards.
 *
 * A *.cluster.test.ts file: it changes roles (on the shadow clusters), so it runs alone.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalog, type Catalog } from "../../lib/migrations";
import { loadRegistry } from "../../lib/config/env";
import { startDemoCluster, type DemoCluster } from "../../lib/embedded/demo-cluster";
import { destroyLocalPostgres } from "../../lib/embedded/postgres-server";
import { applyMigrations } from "../../lib/executor";
import { clusterIdentifier } from "../../lib/plan/isolation";
import { keepClusterObjects, shadowBackgroundWork } from "../../lib/plan/shadow";
import type { Plan } from "../../lib/plan/plan";
import { addMigration, copyOfFolder, removeFixtureFolders } from "../executor/support";
import { adminUrl, shadowAdminUrl } from "../support/databases";
import { testPorts } from "../support/ports";
import { plan, realCatalog, targetsAt } from "./support";

const root = path.resolve(__dirname, "../..");
const ROLE_CHANGE = "ALTER ROLE app_user BYPASSRLS;\n--> statement-breakpoint\nCREATE ROLE rehearsal_only_role NOLOGIN;";

/** Every role of a cluster with the attributes that matter for isolation. */
async function roles(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ line: string }[]>`
      select rolname || ' super=' || rolsuper || ' bypassrls=' || rolbypassrls || ' login=' || rolcanlogin as line
      from pg_roles where rolname !~ '^pg_' order by rolname`;
    return rows.map((r) => r.line);
  } finally {
    await sql.end();
  }
}

let withRoleChange: Catalog;
beforeAll(async () => {
  const real = await realCatalog();
  const dir = copyOfFolder();
  addMigration(dir, { tag: "0009_role_change", up: ROLE_CHANGE, when: real.latest!.when + 1000 });
  withRoleChange = await loadCatalog(dir);
});
afterAll(() => removeFixtureFolders());

function expectRoleChangePlanned(planned: Plan) {
  expect(planned.blockers).toEqual([]);
  expect(planned.rehearsal).toMatchObject({ ok: true, error: null });
  expect(planned.migrations.map((m) => m.tag)).toEqual(["0009_role_change"]);
  expect(planned.migrations[0]!.statements.map((s) => s.clusterWide)).toEqual(["a role", "a role"]);
  expect(planned.findings.map((f) => f.rule)).toContain("console/role-bypassrls");
}

describe("real use: targets on one server, SHADOW_DATABASE_URL on another", () => {
  let targets: Awaited<ReturnType<typeof targetsAt>>;
  beforeAll(async () => {
    targets = await targetsAt(withRoleChange, ["0008_performance_indexes"], "iso_real");
  });
  afterAll(async () => targets?.dropAll());

  it("planning ALTER ROLE app_user BYPASSRLS leaves every role of the target's cluster untouched", async () => {
    const target = await targets.at("0008_performance_indexes");
    expect(await clusterIdentifier(shadowAdminUrl())).not.toBe(await clusterIdentifier(target.url));
    const targetRolesBefore = await roles(adminUrl(18));
    expect(targetRolesBefore).toContain("app_user super=false bypassrls=false login=false");
    const shadowRolesBefore = await roles(shadowAdminUrl());

    expectRoleChangePlanned(await plan(target, withRoleChange));

    expect(await roles(adminUrl(18))).toEqual(targetRolesBefore);
    // The shadow cluster is put back too (after the plan returned, before any later rehearsal there starts),
    // so the next rehearsal of 0007 (which refuses a BYPASSRLS app_user) still runs, and a second one
    // right away does not meet the role the first created.
    expectRoleChangePlanned(await plan(target, withRoleChange));
    await shadowBackgroundWork();
    expect(await roles(shadowAdminUrl())).toEqual(shadowRolesBefore);
  });
});

describe("a rehearsal that creates a database and changes the server's configuration", () => {
  const database = `rehearsal_extra_${Date.now().toString(36)}`;
  let withClusterObjects: Catalog;
  let targets: Awaited<ReturnType<typeof targetsAt>>;
  beforeAll(async () => {
    const real = await realCatalog();
    const dir = copyOfFolder();
    addMigration(dir, { tag: "0009_cluster_objects", up: `CREATE DATABASE ${database};\n--> statement-breakpoint\nALTER SYSTEM SET work_mem = '77MB';`, when: real.latest!.when + 1000 });
    withClusterObjects = await loadCatalog(dir);
    targets = await targetsAt(withClusterObjects, ["0008_performance_indexes"], "iso_objects");
  });
  afterAll(async () => targets?.dropAll());

  it("leaves neither behind on the shadow cluster, so the same plan rehearses again", async () => {
    const shadow = postgres(shadowAdminUrl(), { max: 1, onnotice: () => {} });
    const state = async () => ({
      database: (await shadow`select 1 from pg_database where datname = ${database}`).length,
      workMem: (await shadow`select setting from pg_file_settings where sourcefile like '%postgresql.auto.conf' and name = 'work_mem'`).map((r) => r.setting),
    });
    try {
      const before = await state();
      const target = await targets.at("0008_performance_indexes");
      for (let round = 0; round < 2; round++) {
        const planned = await plan(target, withClusterObjects);
        expect(planned.rehearsal, `round ${round + 1}`).toMatchObject({ ok: true, error: null });
        expect(planned.migrations[0]!.statements.map((s) => s.clusterWide)).toEqual(["a database", "the server's configuration (ALTER SYSTEM)"]);
        await shadowBackgroundWork();
        expect(await state()).toEqual(before);
      }
    } finally {
      await shadow.end();
    }
  });
});

describe("putting back what a rehearsal renamed or set", () => {
  const suffix = Date.now().toString(36);
  it("renames a database back instead of dropping it, and restores a list setting element by element", async () => {
    const shadow = postgres(shadowAdminUrl(), { max: 1, onnotice: () => {} });
    const legacy = `legacy_${suffix}`;
    const fileSetting = async () => (await shadow`select setting from pg_file_settings where sourcefile like '%postgresql.auto.conf' and name = 'search_path'`)[0]?.setting ?? null;
    try {
      await shadow.unsafe(`CREATE DATABASE "${legacy}"`);
      await shadow.unsafe(`ALTER SYSTEM SET search_path = 'public', 'lgpd'`);
      const listBefore = await fileSetting();
      const restore = await keepClusterObjects({ adminUrl: shadowAdminUrl() }, [`ALTER DATABASE ${legacy} RENAME TO ${legacy}_old;`, `ALTER SYSTEM SET search_path = 'audit';`]);
      await shadow.unsafe(`ALTER DATABASE "${legacy}" RENAME TO "${legacy}_old"`);
      await shadow.unsafe(`ALTER SYSTEM SET search_path = 'audit'`);
      await restore();
      const names = (await shadow<{ datname: string }[]>`select datname from pg_database where datname like ${`${legacy}%`}`).map((r) => r.datname);
      expect(names).toEqual([legacy]);
      expect(await fileSetting()).toBe(listBefore);
    } finally {
      await shadow.unsafe(`DROP DATABASE IF EXISTS "${legacy}" WITH (FORCE)`);
      await shadow.unsafe(`DROP DATABASE IF EXISTS "${legacy}_old" WITH (FORCE)`);
      await shadow.unsafe(`ALTER SYSTEM RESET search_path`);
      await shadow`select pg_reload_conf()`;
      await shadow.end();
    }
  });
});

describe("the demo: the embedded console starts a second cluster for rehearsals", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-demo-iso-"));
  fs.chmodSync(dataDir, 0o755);
  let cluster: DemoCluster;
  beforeAll(async () => {
    cluster = await startDemoCluster({
      dataDir,
      port: testPorts.scratch(0),
      shadowPort: testPorts.scratch(1),
      registry: loadRegistry({}, root),
      log: () => {},
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    destroyLocalPostgres({ dataDir: path.join(dataDir, "postgres") });
    destroyLocalPostgres({ dataDir: path.join(dataDir, "shadow-postgres") });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("SHADOW_DATABASE_URL points at the second cluster, not at the targets' one", async () => {
    const shadowUrl = cluster.env.SHADOW_DATABASE_URL!;
    expect(new URL(shadowUrl).port).toBe(String(testPorts.scratch(1)));
    for (const url of [cluster.env.CONSOLE_DATABASE_URL!, cluster.env.TARGET_LOCAL_URL!, cluster.env.TARGET_STAGING_URL!]) {
      expect(await clusterIdentifier(url)).not.toBe(await clusterIdentifier(shadowUrl));
    }
  });

  it("planning ALTER ROLE app_user BYPASSRLS leaves the demo cluster's roles untouched", async () => {
    const targetUrl = cluster.env.TARGET_LOCAL_URL!;
    await applyMigrations({ url: targetUrl, catalog: withRoleChange, to: "0008_performance_indexes", actor: "test-setup" });
    const before = await roles(cluster.server.url());
    expect(before).toContain("app_user super=false bypassrls=false login=false");

    expectRoleChangePlanned(await plan(targetUrl, withRoleChange, { environment: "local", shadow: { adminUrl: cluster.env.SHADOW_DATABASE_URL! } }));

    expect(await roles(cluster.server.url())).toEqual(before);
  });
});
