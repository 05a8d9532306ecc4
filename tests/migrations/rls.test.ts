/**
 * Behavioural isolation as the application role. Superusers bypass RLS even when forced, so every check
 * runs as app_user (SET LOCAL ROLE inside a transaction that is rolled back), never as the test superuser.
 */
import type postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaExpectations } from "../../db/schema/expectations";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { migrateUp } from "./migration-files";

const CLINIC_A = "0a000000-0000-4000-8000-00000000000a";
const CLINIC_B = "0b000000-0000-4000-8000-00000000000b";
const USER = "0c000000-0000-4000-8000-00000000000c";

let db: TestDatabase;

/** Runs `fn` as app_user with the clinic's context (or none), then rolls everything back. */
async function asAppUser<T>(clinicId: string | null, fn: (tx: postgres.ReservedSql) => Promise<T>): Promise<T> {
  const conn = await db.sql.reserve();
  try {
    await conn`begin`;
    await conn`set local role app_user`;
    if (clinicId) await conn`select set_clinic_context(${clinicId}, ${USER}, 'doctor')`;
    return await fn(conn);
  } finally {
    await conn`rollback`;
    conn.release();
  }
}

async function rowCounts(tx: postgres.ReservedSql): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of schemaExpectations.tables) {
    const [row] = await tx<{ n: number }[]>`select count(*)::int as n from ${tx(`${t.schema}.${t.name}`)}`;
    counts[t.qualifiedName] = row!.n;
  }
  return counts;
}

beforeAll(async () => {
  db = await freshDatabase({ server: 18, prefix: "rls" });
  await migrateUp(db.sql);
  // Two clinics with one row in every table each, inserted by the superuser.
  for (const [clinic, n] of [
    [CLINIC_A, 1],
    [CLINIC_B, 2],
  ] as const) {
    await db.sql.begin(async (tx) => {
      await tx`insert into clinics (id, name, cnpj) values (${clinic}, ${`Clinic ${n}`}, ${`1111111100010${n}`})`;
      const [pro] = await tx`insert into professionals (clinic_id, full_name) values (${clinic}, 'Dr. X') returning id`;
      const [pat] = await tx`insert into patients (clinic_id, full_name) values (${clinic}, 'Paciente') returning id`;
      const [appt] = await tx`
        insert into appointments (clinic_id, patient_id, professional_id, start_time, end_time, appointment_type)
        values (${clinic}, ${pat!.id}, ${pro!.id}, now(), now() + interval '30 minutes', 'telemedicine') returning id`;
      const [consent] = await tx`
        insert into lgpd.lgpd_consents (patient_id, clinic_id, legal_basis, processing_purpose, consent_version,
          consent_text, consent_status, given_at, consent_hash)
        values (${pat!.id}, ${clinic}, 'consent', 'care', 'v1', 'Eu concordo', 'active', now(), '') returning id`;
      await tx`insert into consent_records (patient_id, clinic_id, consent_type, purpose, legal_basis, status)
        values (${pat!.id}, ${clinic}, 'treatment', 'care', 'consent', 'active')`;
      await tx`insert into telemedicine_sessions (appointment_id, patient_id, clinic_id, session_token, lgpd_consent_id)
        values (${appt!.id}, ${pat!.id}, ${clinic}, ${`token-${n}`}, ${consent!.id})`;
      await tx`insert into audit.audit_logs (clinic_id, action, resource_type) values (${clinic}, 'CREATE', 'patient')`;
    });
  }
});
afterAll(async () => db?.drop());

const everyTable = () => Object.fromEntries(schemaExpectations.tables.map((t) => [t.qualifiedName, 1]));
const noTable = () => Object.fromEntries(schemaExpectations.tables.map((t) => [t.qualifiedName, 0]));

describe("row level security as app_user", () => {
  it("runs as a role that cannot bypass RLS", async () => {
    const row = await asAppUser(CLINIC_A, async (tx) => {
      const [r] = await tx`select current_user as who, r.rolsuper, r.rolbypassrls
        from pg_roles r where r.rolname = current_user`;
      return r;
    });
    expect(row).toEqual({ who: "app_user", rolsuper: false, rolbypassrls: false });
  });

  it("shows a clinic its own rows only, in every table", async () => {
    expect(await asAppUser(CLINIC_A, rowCounts)).toEqual(everyTable());
    const ids = await asAppUser(CLINIC_A, (tx) => tx`select distinct clinic_id from patients`);
    expect(ids.map((r) => r.clinic_id)).toEqual([CLINIC_A]);
    const clinics = await asAppUser(CLINIC_B, (tx) => tx`select id from clinics`);
    expect(clinics.map((r) => r.id)).toEqual([CLINIC_B]);
  });

  it("shows zero rows, not all rows, without a clinic context", async () => {
    expect(await asAppUser(null, rowCounts)).toEqual(noTable());
  });

  it("shows zero rows (no error) once a previous transaction on the connection had a context", async () => {
    const conn = await db.sql.reserve();
    try {
      await conn`begin`;
      await conn`set local role app_user`;
      await conn`select set_clinic_context(${CLINIC_A}, ${USER}, 'doctor')`;
      await conn`commit`;
      // The setting now exists on this connection with an empty value.
      await conn`begin`;
      await conn`set local role app_user`;
      const [setting] = await conn`select current_setting('app.current_clinic_id', true) as v`;
      expect(setting!.v).toBe("");
      expect(await rowCounts(conn)).toEqual(noTable());
    } finally {
      await conn`rollback`;
      conn.release();
    }
  });

  it("refuses to write another clinic's rows", async () => {
    await expect(
      asAppUser(CLINIC_A, (tx) => tx`insert into patients (clinic_id, full_name) values (${CLINIC_B}, 'Intruso')`),
    ).rejects.toMatchObject({ code: "42501" });
    const changed = await asAppUser(CLINIC_A, async (tx) => {
      const updated = await tx`update patients set full_name = 'x' where clinic_id = ${CLINIC_B}`;
      const deleted = await tx`delete from audit.audit_logs where clinic_id = ${CLINIC_B}`.catch((e: { code: string }) => e.code);
      return { updated: updated.count, deleted };
    });
    expect(changed).toEqual({ updated: 0, deleted: "42501" });
    // Moving an own row to another clinic fails the UPDATE policy's WITH CHECK.
    await expect(
      asAppUser(CLINIC_A, (tx) => tx`update patients set clinic_id = ${CLINIC_B} where clinic_id = ${CLINIC_A}`),
    ).rejects.toMatchObject({ code: "42501" });
  });

  it("lets a clinic insert its own rows, and keeps audit and consent records append-only", async () => {
    const result = await asAppUser(CLINIC_A, async (tx) => {
      await tx`insert into audit.audit_logs (clinic_id, action, resource_type) values (${CLINIC_A}, 'VIEW', 'patient')`;
      const [{ n }] = (await tx`select count(*)::int as n from audit.audit_logs`) as unknown as [{ n: number }];
      const update = await tx`update audit.audit_logs set status = 'x'`.catch((e: { code: string }) => e.code);
      return { n, update };
    });
    expect(result).toEqual({ n: 2, update: "42501" });
    await expect(asAppUser(CLINIC_A, (tx) => tx`delete from consent_records`)).rejects.toMatchObject({ code: "42501" });
  });
});
