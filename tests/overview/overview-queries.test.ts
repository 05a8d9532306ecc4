/**
 * The Overview stays flat as history grows: its loader sends the same (small) number of store
 * statements with 10 deployments as with 1,000, and reads deployments, runs, run events and
 * approvals through their indexes, never by scanning them. Real store, no timing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDemoUsers } from "../../lib/auth/demo-users";
import { parseEnvironmentRegistry } from "../../lib/config/environments";
import { openStore, type Store } from "../../lib/store/db";
import { environmentsOverview } from "../../lib/targets/overview";
import { syncEnvironments } from "../../lib/targets/registry-sync";
import { freshStore } from "../support/store";

const registry = parseEnvironmentRegistry(
  { environments: ["local", "staging", "production", "dr"].map((name) => ({ name, label: name, urlEnv: `OVERVIEW_${name.toUpperCase()}_URL`, gates: { releaseManagerApprovals: 1 } })) },
  {},
);

let fresh: Awaited<ReturnType<typeof freshStore>>;
let counted: Store;
let statements: string[] = [];

beforeAll(async () => {
  fresh = await freshStore();
  await syncEnvironments(fresh.store.db, registry);
  await ensureDemoUsers(fresh.store.db);
  // The same store through a client that records every statement it sends.
  counted = openStore(fresh.database.url, { max: 4, debug: (_connection, query) => void statements.push(query) });
  await counted.sql`select 1`; // connects (postgres.js reads the array types once per connection)
});
afterAll(async () => {
  await counted?.close();
  await fresh?.close();
});

/** Finished deployments spread over the environments, each with its run, log and approval. */
async function addFinished(count: number): Promise<void> {
  await fresh.database.sql.unsafe(`
    WITH envs AS (SELECT id, row_number() OVER (ORDER BY position) - 1 AS n FROM environments),
         made AS (
           INSERT INTO deployments (environment_id, kind, target_tag, state, created_by, plan, plan_hash)
           SELECT e.id, 'apply', '0008_performance_indexes', (CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'succeeded' END)::deployment_state,
             (SELECT id FROM users WHERE email = 'engineer@demo.local'),
             jsonb_build_object('from', '0006_appointment_overlap', 'to', 'tag-' || g, 'requiresComplianceSignoff', false, 'blockers', '[]'::jsonb,
               'rehearsal', jsonb_build_object('ok', true), 'migrations', jsonb_build_array(jsonb_build_object('tag', '0007_row_level_security'))),
             md5(g::text)
           FROM generate_series(1, ${count}) g JOIN envs e ON e.n = g % 4
           RETURNING id, state, plan_hash),
         ran AS (INSERT INTO runs (deployment_id, state, worker, finished_at) SELECT id, state::text, 'test', now() FROM made RETURNING id),
         logged AS (INSERT INTO run_events (run_id, at, type, payload) SELECT ran.id, now(), 'statement_finished', '{"done": 1, "of": 1}' FROM ran)
    INSERT INTO approvals (deployment_id, user_id, kind, plan_hash, plan_revision)
    SELECT id, (SELECT id FROM users WHERE email = 'release2@demo.local'), 'release_approval', plan_hash, 1 FROM made;
    ANALYZE`);
}

async function overviewStatements() {
  const release = (await fresh.database.sql<{ id: string }[]>`select id from users where email = 'release@demo.local'`)[0]!;
  statements = [];
  const overview = await environmentsOverview(counted.db, registry, { id: release.id, role: "release_manager" });
  return { overview, statements: statements.filter((q) => !q.includes("pg_catalog.pg_type")) };
}

describe("the Overview's store reads", () => {
  it("are one statement with 10 deployments and with 1,000, each read through an index", async () => {
    await addFinished(10);
    // Staging: one running (with its run and its log), one awaiting review with an approval.
    await fresh.database.sql.unsafe(`
      WITH staging AS (SELECT id FROM environments WHERE name = 'staging'), author AS (SELECT id FROM users WHERE email = 'engineer@demo.local'),
           made AS (
             INSERT INTO deployments (environment_id, kind, target_tag, state, created_by, plan, plan_hash)
             SELECT (SELECT id FROM staging), 'apply', 'x', s::deployment_state, (SELECT id FROM author),
               jsonb_build_object('from', null, 'to', 'x', 'requiresComplianceSignoff', false, 'blockers', '[]'::jsonb, 'rehearsal', jsonb_build_object('ok', true),
                 'migrations', jsonb_build_array(jsonb_build_object('tag', 'x'))), 'hash-' || s
             FROM unnest(ARRAY['running', 'awaiting_approval']) s RETURNING id, state),
           ran AS (INSERT INTO runs (deployment_id, state, worker) SELECT id, 'running', 'test' FROM made WHERE state = 'running' RETURNING id)
      INSERT INTO run_events (run_id, at, type, payload)
      SELECT ran.id, now(), t, p::jsonb FROM ran, (VALUES ('run_started', '{"statements": 4}'), ('statement_finished', '{"done": 3, "of": 4}')) v(t, p)`);

    const small = await overviewStatements();
    const staging = small.overview.find((e) => e.name === "staging")!;
    expect(staging.running).toMatchObject({ state: "running", progress: { done: 3, total: 4 } });
    expect(staging.awaitingApproval).toBe(1);
    expect(staging.awaitingMe).toEqual([expect.objectContaining({ action: "approve" })]);
    expect(small.overview.every((e) => e.last !== null)).toBe(true);

    await addFinished(990);
    const large = await overviewStatements();
    expect(large.statements).toHaveLength(small.statements.length);
    expect(large.statements).toHaveLength(1);
    // The newest finished deployment of each environment is the one shown, however many came before.
    const newest = await fresh.database.sql<{ name: string; number: number }[]>`
      select e.name, max(d.number)::int as number from deployments d join environments e on e.id = d.environment_id
      where d.state in ('succeeded', 'failed') group by e.name`;
    expect(Object.fromEntries(large.overview.map((e) => [e.name, e.last?.number]))).toEqual(Object.fromEntries(newest.map((r) => [r.name, r.number])));

    // Inside a transaction (no pool client to prepare on) it reads the same.
    const release = (await fresh.database.sql<{ id: string }[]>`select id from users where email = 'release@demo.local'`)[0]!;
    const inTransaction = await fresh.store.db.transaction((tx) => environmentsOverview(tx, registry, { id: release.id, role: "release_manager" }));
    expect(inTransaction).toEqual(large.overview);

    const [plan] = await fresh.database.sql.unsafe<{ "QUERY PLAN": unknown }[]>(`explain (format json) ${large.statements[0]!}`);
    const scanned: string[] = [];
    const walk = (node: Record<string, unknown>) => {
      if (node["Node Type"] === "Seq Scan") scanned.push(String(node["Relation Name"]));
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk((plan!["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0]!.Plan);
    expect(scanned.filter((t) => ["deployments", "runs", "run_events", "approvals"].includes(t))).toEqual([]);
  });
});
