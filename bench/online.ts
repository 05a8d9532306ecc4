/**
 * `npm run bench:online`: what a migration does to the application's writes while it runs, on
 * synthetic volume (about 1M appointments, 200k patients) on the embedded PostgreSQL. An
 * application load of writes (inserts and updates) and reads from several connections runs through
 * three phases of one run:
 *   1. baseline: the load alone;
 *   2. console: the executor applies a migration set adding a column and an index CONCURRENTLY;
 *   3. drizzle-style: the same statements the way drizzle-kit's migrator runs them (one
 *      transaction, CREATE INDEX without CONCURRENTLY, which blocks writes for the whole build).
 * It prints the application's write p99 and max per phase and ends with `p99 ratio R` (console ÷
 * baseline; target ≤ 2), then the drizzle-style phase's ratio.
 *
 * The volume is built once into database `bench_online` (reused by later runs; BENCH_FRESH=1
 * rebuilds it), and every phase undoes its schema change afterwards, so runs are comparable.
 * Environment: BENCH_PG_PORT (54352), BENCH_WRITERS (4), BENCH_READERS (4), BENCH_BASELINE_S (8).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type postgres from "postgres";
import { loadCatalog } from "../lib/migrations";
import { startLocalPostgres } from "../lib/embedded/postgres-server";
import { applyMigrations } from "../lib/executor";
import { connect } from "../lib/connection/connect";

const ROOT = path.resolve(__dirname, "..");
const PORT = Number(process.env.BENCH_PG_PORT ?? 54352);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 4);
const READERS = Number(process.env.BENCH_READERS ?? 4);
const BASELINE_MS = Number(process.env.BENCH_BASELINE_S ?? 8) * 1000;
const DATABASE = "bench_online";
const PATIENTS = 200_000;
const APPOINTMENTS = 1_000_000;
const PROFESSIONALS = 2_000;
const CLINICS = 50;
const TARGET_RATIO = 2;
/** The schema the volume is loaded into; 0006 (an exclusion constraint) and 0007 come after the load. */
const LOAD_AFTER = "0005_telemedicine_and_audit";
const SCHEMA_AT = "0007_row_level_security";

const BREAKPOINT = "\n--> statement-breakpoint\n";
const COLUMN = `ALTER TABLE "appointments" ADD COLUMN "reminder_sent_at" timestamp with time zone`;
const INDEX = `CREATE INDEX CONCURRENTLY IF NOT EXISTS "appointments_patient_start_bench_idx" ON "appointments" ("patient_id", "start_time")`;
const UNDO = [`DROP INDEX IF EXISTS "appointments_patient_start_bench_idx"`, `ALTER TABLE "appointments" DROP COLUMN IF EXISTS "reminder_sent_at"`];

const ms = (x: number) => `${x.toFixed(1)} ms`;
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0;
};

/** A migrations folder: the real history up to SCHEMA_AT, then the bench's own two migrations. */
function benchFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-bench-online-"));
  fs.cpSync(path.join(ROOT, "db/migrations"), dir, { recursive: true });
  const journalFile = path.join(dir, "meta/_journal.json");
  const journal = JSON.parse(fs.readFileSync(journalFile, "utf8")) as { entries: { idx: number; when: number; tag: string; version: string; breakpoints: boolean }[] };
  const keep = journal.entries.findIndex((e) => e.tag === SCHEMA_AT) + 1;
  for (const e of journal.entries.slice(keep)) {
    fs.rmSync(path.join(dir, `${e.tag}.sql`), { force: true });
    fs.rmSync(path.join(dir, `${e.tag}.down.sql`), { force: true });
  }
  journal.entries = journal.entries.slice(0, keep);
  const last = journal.entries.at(-1)!;
  const added: [string, string][] = [
    ["0008_bench_reminder_column", COLUMN],
    ["0009_bench_patient_start_idx", INDEX],
  ];
  for (const [i, [tag, sql]] of added.entries()) {
    journal.entries.push({ idx: keep + i, when: last.when + 1000 * (i + 1), tag, version: last.version, breakpoints: true });
    fs.writeFileSync(path.join(dir, `${tag}.sql`), sql + "\n");
  }
  fs.writeFileSync(journalFile, JSON.stringify(journal, null, 2));
  return dir;
}

async function buildVolume(admin: postgres.Sql, url: string, dir: string): Promise<void> {
  const [exists] = await admin`select 1 from pg_database where datname = ${DATABASE}`;
  if (exists && process.env.BENCH_FRESH !== "1") {
    const sql = connect(url);
    try {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from appointments`.catch(() => [{ n: 0 }]);
      if (row!.n >= APPOINTMENTS) return;
    } finally {
      await sql.end();
    }
  }
  await admin.unsafe(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE "${DATABASE}"`);
  const catalog = await loadCatalog(dir);
  const started = performance.now();
  await applyMigrations({ url, catalog, actor: "bench", to: LOAD_AFTER });
  const sql = connect(url, { max: 1 });
  try {
    // Synthetic rows, loaded as the superuser with foreign-key triggers off (the data is consistent by construction).
    await sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL session_replication_role = replica`);
      await tx.unsafe(`INSERT INTO clinics (name, cnpj) SELECT 'Clinic ' || g, lpad(g::text, 14, '0') FROM generate_series(1, ${CLINICS}) g`);
      await tx.unsafe(`CREATE TEMP TABLE clinic_ids ON COMMIT DROP AS SELECT row_number() OVER () AS n, id FROM clinics`);
      await tx.unsafe(`INSERT INTO professionals (clinic_id, full_name) SELECT c.id, 'Professional ' || g FROM generate_series(1, ${PROFESSIONALS}) g JOIN clinic_ids c ON c.n = 1 + g % ${CLINICS}`);
      await tx.unsafe(`INSERT INTO patients (clinic_id, full_name, birth_date) SELECT c.id, 'Patient ' || g, date '1950-01-01' + (g % 20000) FROM generate_series(1, ${PATIENTS}) g JOIN clinic_ids c ON c.n = 1 + g % ${CLINICS}`);
      await tx.unsafe(`CREATE TEMP TABLE professional_ids ON COMMIT DROP AS SELECT row_number() OVER () - 1 AS n, id, clinic_id FROM professionals`);
      await tx.unsafe(`CREATE TEMP TABLE patient_ids ON COMMIT DROP AS SELECT row_number() OVER () - 1 AS n, id FROM patients`);
      // Professional g % P, one hour slots that never overlap: the exclusion constraint of 0006 holds.
      await tx.unsafe(`
        INSERT INTO appointments (clinic_id, patient_id, professional_id, start_time, end_time, status)
        SELECT pr.clinic_id, pa.id, pr.id, t, t + interval '30 minutes', 'completed'
        FROM generate_series(0, ${APPOINTMENTS - 1}) g
        JOIN professional_ids pr ON pr.n = g % ${PROFESSIONALS}
        JOIN patient_ids pa ON pa.n = g % ${PATIENTS}
        CROSS JOIN LATERAL (SELECT timestamptz '2020-01-01' + (g / ${PROFESSIONALS}) * interval '1 hour') s(t)`);
    });
    await sql.unsafe(`VACUUM ANALYZE appointments, patients, professionals, clinics`);
  } finally {
    await sql.end();
  }
  await applyMigrations({ url, catalog, actor: "bench", to: SCHEMA_AT });
  console.log(`built ${APPOINTMENTS.toLocaleString("en")} appointments and ${PATIENTS.toLocaleString("en")} patients in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Far-future one-hour slots, never reused within a run (rows of earlier phases stay until the end). */
let slot = 0;

interface PhaseResult {
  name: string;
  writes: number[];
  reads: number[];
  failures: number;
  applyMs: number | null;
  errors: Map<string, number>;
}

/** Runs the application load around `work`; only the latencies while `work` runs count (or `baselineMs` of load without it). */
async function phase(url: string, name: string, ids: string[], slots: { professional: string; clinic: string; patient: string }[], work: (() => Promise<void>) | null): Promise<PhaseResult> {
  const clients = Array.from({ length: WRITERS + READERS }, () => connect(url, { max: 1, application: `bench app ${name}` }));
  await Promise.all(clients.map((c) => c`select 1`));
  let measuring = false;
  let running = true;
  const writes: number[] = [];
  const reads: number[] = [];
  let failures = 0;
  const errors = new Map<string, number>();
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const loops = clients.map(async (c, i) => {
    const writer = i < WRITERS;
    const mine = slots[i % slots.length]!;
    while (running) {
      const t = performance.now();
      // A query counts when it started inside the window, however long it then waited.
      const counted = measuring;
      try {
        if (!writer) await c`select id, status, start_time from appointments where id = ${pick()}`;
        else if (Math.random() < 0.5) await c`update appointments set status = 'confirmed', updated_at = now() where id = ${pick()}`;
        else {
          // Far-future slots of this writer's own professional: never overlapping.
          const at = new Date(Date.UTC(2100, 0, 1) + (slot++ * WRITERS + i) * 3_600_000);
          await c`insert into appointments (clinic_id, patient_id, professional_id, start_time, end_time) values (${mine.clinic}, ${mine.patient}, ${mine.professional}, ${at}, ${new Date(at.getTime() + 1_800_000)})`;
        }
        if (counted) (writer ? writes : reads).push(performance.now() - t);
      } catch (e) {
        if (counted) {
          failures++;
          const message = (e as Error).message;
          errors.set(message, (errors.get(message) ?? 0) + 1);
        }
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1_000)); // the load settles first
  measuring = true;
  const started = performance.now();
  if (work) await work();
  else await new Promise((r) => setTimeout(r, BASELINE_MS));
  const applyMs = work ? performance.now() - started : null;
  measuring = false;
  running = false;
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
  return { name, writes, reads, failures, applyMs, errors };
}

function report(r: PhaseResult): void {
  for (const [message, n] of r.errors) console.log(`${r.name}: ${n} × ${message}`);
  const took = r.applyMs === null ? "" : `; the migration took ${(r.applyMs / 1000).toFixed(1)} s`;
  console.log(
    `${r.name.padEnd(14)} writes ${String(r.writes.length).padStart(6)}: p99 ${ms(percentile(r.writes, 0.99)).padStart(10)}, max ${ms(Math.max(...r.writes)).padStart(10)}; reads p99 ${ms(percentile(r.reads, 0.99))}; failed ${r.failures}${took}`,
  );
}

async function main(): Promise<void> {
  const server = await startLocalPostgres({ dataDir: path.join(ROOT, ".data/bench"), port: PORT, log: (l) => console.log(l) });
  const admin = connect(server.url());
  const dir = benchFolder();
  const url = server.url(DATABASE);
  try {
    await buildVolume(admin, url, dir);
    const catalog = await loadCatalog(dir);
    const sql = connect(url);
    const results: PhaseResult[] = [];
    try {
      await sql.unsafe(UNDO.join(";\n")).simple();
      await sql`delete from drizzle.__drizzle_migrations where created_at > ${catalog.byTag(SCHEMA_AT)!.when}`;
      await sql`delete from appointments where start_time >= '2100-01-01'`;
      const ids = (await sql<{ id: string }[]>`select id from appointments tablesample system (1) limit 20000`).map((r) => r.id);
      const slots = await sql<{ professional: string; clinic: string; patient: string }[]>`
        select pr.id as professional, pr.clinic_id as clinic, (select id from patients where clinic_id = pr.clinic_id limit 1) as patient
        from professionals pr order by pr.full_name limit ${WRITERS}`;
      console.log(`bench:online: ${WRITERS} writers and ${READERS} readers; migration set: a column, and an index CONCURRENTLY on appointments (patient_id, start_time)`);

      results.push(await phase(url, "baseline", ids, slots, null));
      results.push(
        await phase(url, "console", ids, slots, async () => {
          await applyMigrations({ url, catalog, actor: "bench" });
        }),
      );
      await sql.unsafe(UNDO.join(";\n")).simple();
      await sql`delete from drizzle.__drizzle_migrations where created_at > ${catalog.byTag(SCHEMA_AT)!.when}`;
      results.push(
        await phase(url, "drizzle-style", ids, slots, async () => {
          // drizzle-kit's migrator: every pending statement in one transaction; CONCURRENTLY is not possible there.
          await sql.begin(async (tx) => {
            await tx.unsafe(COLUMN);
            await tx.unsafe(INDEX.replace(" CONCURRENTLY", ""));
          });
        }),
      );
      await sql.unsafe(UNDO.join(";\n")).simple();
      await sql`delete from drizzle.__drizzle_migrations where created_at > ${catalog.byTag(SCHEMA_AT)!.when}`;
      await sql`delete from appointments where start_time >= '2100-01-01'`;
    } finally {
      await sql.end();
    }
    for (const r of results) report(r);
    const [baseline, console_, drizzleStyle] = results.map((r) => percentile(r.writes, 0.99)) as [number, number, number];
    const ratio = console_ / baseline;
    console.log(`machine load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores; target ratio ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? "within target" : "ABOVE TARGET"}`);
    console.log(`p99 ratio ${ratio.toFixed(2)}`);
    console.log(`drizzle-style p99 ratio ${(drizzleStyle / baseline).toFixed(2)}`);
  } finally {
    await admin.end();
    fs.rmSync(dir, { recursive: true, force: true });
    if (!server.reused) await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
