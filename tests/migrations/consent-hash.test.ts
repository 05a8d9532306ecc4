/** The consent proof is computed by the database and frozen after insert (migration 0004). */
import { createHash } from "node:crypto";
import { drizzle } from "drizzle-orm/postgres-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lgpdConsents } from "../../db/schema";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { migrateUp } from "./migration-files";

let db: TestDatabase;
let patientId: string;
let clinicId: string;

beforeAll(async () => {
  db = await freshDatabase({ server: 18, prefix: "consent" });
  await migrateUp(db.sql);
  const [clinic] = await db.sql`insert into clinics (name, cnpj) values ('Clínica', '11222333000181') returning id`;
  clinicId = clinic!.id;
  const [patient] = await db.sql`insert into patients (clinic_id, full_name) values (${clinicId}, 'Maria') returning id`;
  patientId = patient!.id;
});
afterAll(async () => db?.drop());

async function insertConsent(fakeHash = "f".repeat(64)) {
  const [row] = await db.sql<{ id: string; consent_hash: string }[]>`
    insert into lgpd.lgpd_consents (patient_id, clinic_id, legal_basis, processing_purpose, data_categories,
      consent_version, consent_text, consent_status, given_at, consent_hash)
    values (${patientId}, ${clinicId}, 'health_protection', 'Atendimento', ${db.sql.array(["health", "contact"])},
      'v2', 'Autorizo o tratamento dos meus dados de saúde.', 'active', '2025-03-01T12:00:00.123456Z', ${fakeHash})
    returning id, consent_hash`;
  return row!;
}

describe("consent_hash", () => {
  it("is computed on insert, whatever the client sent", async () => {
    const row = await insertConsent();
    expect(row.consent_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.consent_hash).not.toBe("f".repeat(64));
  });

  it("is sha256 over the documented canonical text, independent of the session time zone", async () => {
    const { id, consent_hash } = await insertConsent();
    const [canonical] = await db.sql.begin(async (tx) => {
      await tx`set local timezone = 'Asia/Tokyo'`;
      return tx<{ text: string; again: string }[]>`
        select lgpd.consent_canonical_text(c) as text, lgpd.consent_hash(c) as again
        from lgpd.lgpd_consents c where id = ${id}`;
    });
    expect(canonical!.again).toBe(consent_hash);
    expect(createHash("sha256").update(canonical!.text, "utf8").digest("hex")).toBe(consent_hash);
    expect(JSON.parse(canonical!.text)).toEqual({
      id,
      patient_id: patientId,
      clinic_id: clinicId,
      legal_basis: "health_protection",
      processing_purpose: "Atendimento",
      data_categories: ["health", "contact"],
      consent_version: "v2",
      consent_text: "Autorizo o tratamento dos meus dados de saúde.",
      given_at: "2025-03-01T12:00:00.123456Z",
    });
  });

  it("lets status and withdrawal change, and refuses changes to hashed fields or to the hash", async () => {
    const { id, consent_hash } = await insertConsent();
    const [withdrawn] = await db.sql`
      update lgpd.lgpd_consents set consent_status = 'withdrawn', withdrawn_at = now(), withdrawal_reason = 'pedido'
      where id = ${id} returning consent_hash`;
    expect(withdrawn!.consent_hash).toBe(consent_hash);

    for (const change of [
      db.sql`update lgpd.lgpd_consents set consent_text = 'outro texto' where id = ${id}`,
      db.sql`update lgpd.lgpd_consents set given_at = given_at + interval '1 second' where id = ${id}`,
      db.sql`update lgpd.lgpd_consents set data_categories = '{health}' where id = ${id}`,
      db.sql`update lgpd.lgpd_consents set consent_hash = ${"0".repeat(64)} where id = ${id}`,
    ]) {
      await expect(change).rejects.toMatchObject({ code: "23000" });
    }
  });

  it("can be left out of a drizzle insert", async () => {
    const [row] = await drizzle(db.sql)
      .insert(lgpdConsents)
      .values({
        patientId,
        clinicId,
        legalBasis: "consent",
        processingPurpose: "Lembretes",
        consentVersion: "v1",
        consentText: "Aceito receber lembretes.",
        givenAt: new Date(),
      })
      .returning({ hash: lgpdConsents.consentHash });
    expect(row!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("recomputes to the stored value for every row (what verification checks)", async () => {
    const [row] = await db.sql<{ mismatched: number; total: number }[]>`
      select count(*) filter (where consent_hash <> lgpd.consent_hash(c))::int as mismatched, count(*)::int as total
      from lgpd.lgpd_consents c`;
    expect(row!.total).toBeGreaterThan(0);
    expect(row!.mismatched).toBe(0);
  });
});
