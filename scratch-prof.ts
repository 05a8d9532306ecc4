import path from "node:path";
import { startLocalPostgres } from "./lib/embedded/postgres-server";
import { connect } from "./lib/targets/connect";
import { loadCatalog } from "./lib/catalog";
import { ensureLedger, readLedger, readTargetFacts, computeStatus } from "./lib/ledger";
import { assertNotTransactionPooler } from "./lib/executor/pooler";
import { applyMigrations } from "./lib/executor";
async function main() {
  const server = await startLocalPostgres({ dataDir: path.join(process.cwd(), ".data/bench"), port: 30418, log: () => {} });
  const admin = connect(server.url());
  const catalog = await loadCatalog("db/migrations");
  const totals: Record<string, number[]> = {};
  for (let r = 0; r < 8; r++) {
    const name = `prof_${r}_${Date.now() % 100000}`;
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    const t: [string, number][] = [];
    let last = performance.now();
    const mark = (k: string) => { const now = performance.now(); t.push([k, now - last]); last = now; };
    const sql = connect(server.url(name), { prepare: false });
    const mon = connect(server.url(name), { prepare: false });
    await assertNotTransactionPooler(sql, mon, { connectTimeoutMs: 8000 }); mark("connect+probe");
    await sql`select pg_try_advisory_lock(1,1)`; mark("lock");
    await sql.unsafe("SET lock_timeout = 100; SET statement_timeout = 0; SET client_connection_check_interval = 1000").simple(); mark("set");
    await ensureLedger(sql); mark("ensure");
    const l = await readLedger(sql, "ensured"); mark("readLedger");
    const f = await readTargetFacts(sql, catalog, l); mark("facts");
    computeStatus(catalog, l, f); mark("compute");
    await sql.end(); await mon.end(); mark("end");
    for (const [k, v] of t) (totals[k] ??= []).push(v);
    await admin.unsafe(`DROP DATABASE "${name}"`);
    const n2 = name + "x"; await admin.unsafe(`CREATE DATABASE "${n2}"`);
    const t0 = performance.now(); let setupAt = 0;
    await applyMigrations({ url: server.url(n2), catalog, actor: "b", onEvent: (e) => { if (e.type === "run_started") setupAt = performance.now(); } });
    (totals["apply.setup"] ??= []).push(setupAt - t0); (totals["apply.total"] ??= []).push(performance.now() - t0);
    await admin.unsafe(`DROP DATABASE "${n2}" WITH (FORCE)`);
  }
  for (const [k, v] of Object.entries(totals)) { const s = [...v].sort((a, b) => a - b); console.log(k.padEnd(16), s[Math.floor(s.length / 2)]!.toFixed(1)); }
  await admin.end();
  if (!server.reused) await server.stop();
}
main();
