import { afterAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../../db/seed/demo";
import { isValidCns, isValidCpf, isValidCrm } from "../../lib/br/identifiers";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { applyFile, migrateUp, migrationFile, readJournal } from "./migration-files";

const NOW = new Date("2026-03-10T14:10:00Z");
const opened: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(opened.map((db) => db.drop()));
});

async function database(lastTag?: string): Promise<TestDatabase> {
  const db = await freshDatabase({ server: 18, prefix: "seed" });
  opened.push(db);
  await migrateUp(db.sql, lastTag);
  return db;
}

/** Applies the migrations after `tag`, on top of whatever data is there. */
async function migrateRest(db: TestDatabase, tag: string): Promise<void> {
  const journal = readJournal();
  for (const entry of journal.slice(journal.findIndex((e) => e.tag === tag) + 1)) {
    await applyFile(db.sql, migrationFile(entry.tag, "up"));
  }
}

describe("seedDemoData on a fully migrated database", () => {
  let db: TestDatabase;

  it("inserts realistic rows into every table", async () => {
    db = await database();
    const result = await seedDemoData(db.sql, { now: NOW });
    expect(result.skipped).toBe(false);
    if (result.skipped) return;
    expect(result.inserted).toMatchObject({
      "public.clinics": 2,
      "public.professionals": 6,
      "public.patients": 50,
      "lgpd.lgpd_consents": 50,
      "public.consent_records": 10,
      "audit.audit_logs": 40,
    });
    expect(result.inserted["public.appointments"]).toBe(102);
    expect(result.inserted["public.telemedicine_sessions"]).toBeGreaterThan(5);
  });

  it("uses valid identifiers", async () => {
    const patients = await db.sql<{ cpf: string; cns: string }[]>`select cpf, cns from patients`;
    for (const p of patients) {
      expect(isValidCpf(p.cpf), p.cpf).toBe(true);
      expect(isValidCns(p.cns), p.cns).toBe(true);
    }
    const pros = await db.sql<{ council_license: string; council_state: string }[]>`
      select council_license, council_state from professionals`;
    for (const p of pros) expect(isValidCrm(p.council_license, p.council_state)).toBe(true);
  });

  it("satisfies what verification checks: consent proofs, telemedicine, retention", async () => {
    const [hashes] = await db.sql`select count(*) filter (where consent_hash <> lgpd.consent_hash(c))::int as bad
      from lgpd.lgpd_consents c`;
    expect(hashes!.bad).toBe(0);
    const active = await db.sql`select s.* from telemedicine_sessions s join appointments a on a.id = s.appointment_id
      where s.session_status = 'active'`;
    expect(active.length).toBeGreaterThan(0);
    for (const s of active) {
      expect(s.cfm_professional_crm).toMatch(/^\d{4,6}$/);
      expect(s.cfm_professional_state).toMatch(/^[A-Z]{2}$/);
      expect(s.icp_brasil_cert_valid_to.getTime()).toBeGreaterThan(s.started_at.getTime());
    }
    const [overdue] = await db.sql`select count(*)::int as n from patients
      where data_anonymization_scheduled < now() and data_anonymized_at is null`;
    expect(overdue!.n).toBe(4);
    const [short] = await db.sql`select count(*)::int as n from audit.audit_logs
      where retention_until < created_at + interval '7 years'`;
    expect(short!.n).toBe(0);
  });

  it("is idempotent", async () => {
    expect(await seedDemoData(db.sql, { now: NOW })).toEqual({ skipped: true, reason: "clinics already has rows" });
    const [row] = await db.sql`select count(*)::int as n from clinics`;
    expect(row!.n).toBe(2);
  });

  it("is deterministic for a seed and an instant", async () => {
    const other = await database();
    await seedDemoData(other.sql, { now: NOW });
    const ids = (d: TestDatabase) => d.sql`select id, cpf from patients order by id`;
    expect(await ids(other)).toEqual(await ids(db));
  });
});

describe("seedDemoData on older versions of the schema", () => {
  it("seeds a database that has only the core tables, which then migrates to the end", async () => {
    const db = await database("0001_core_tables");
    const result = await seedDemoData(db.sql, { now: NOW });
    expect(result.skipped).toBe(false);
    if (result.skipped) return;
    expect(Object.keys(result.inserted).sort()).toEqual([
      "public.appointments",
      "public.clinics",
      "public.patients",
      "public.professionals",
    ]);
    await migrateRest(db, "0001_core_tables");
    const [row] = await db.sql`select count(*)::int as n from appointments`;
    expect(row!.n).toBe(102);
  });

  it("seeds consents before the hashing trigger exists; migration 0004 then makes every proof verifiable", async () => {
    const db = await database("0003_lgpd_consents");
    const result = await seedDemoData(db.sql, { now: NOW });
    expect(result.skipped ? [] : Object.keys(result.inserted)).toContain("lgpd.lgpd_consents");
    await migrateRest(db, "0003_lgpd_consents");
    const [hashes] = await db.sql`select count(*) filter (where consent_hash <> lgpd.consent_hash(c))::int as bad,
      count(*)::int as total from lgpd.lgpd_consents c`;
    expect(hashes).toEqual({ bad: 0, total: 50 });
  });

  it("refuses a database without the core tables", async () => {
    const db = await database("0000_extensions_and_schemas");
    await expect(seedDemoData(db.sql)).rejects.toThrow(/core tables/);
  });
});
