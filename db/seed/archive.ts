/**
 * Archived patients for the demo's staging: a clinic's history, many records whose scheduled
 * anonymisation has passed, so the anonymisation backfill (db/backfills) has enough rows to watch,
 * pause and resume in the browser. Synthetic, no identifiers (CPF/CNS are optional).
 */
import type postgres from "postgres";

export async function seedArchivedPatients(sql: postgres.Sql, count: number): Promise<number> {
  const [row] = await sql<{ inserted: number }[]>`
    with clinic as (select array_agg(id order by id) as ids from public.clinics),
    inserted as (
      insert into public.patients (clinic_id, medical_record_number, full_name, birth_date, data_consent_status, data_retention_until, data_anonymization_scheduled, patient_notes, is_active)
      select clinic.ids[1 + g % array_length(clinic.ids, 1)], 'ARQ-' || lpad(g::text, 7, '0'), 'Paciente arquivado ' || g,
        date '1940-01-01' + (g % 20000), 'expired', current_date - 30 - (g % 300), now() - make_interval(days => 30 + g % 300),
        'Prontuário arquivado', false
      from generate_series(1, ${count}) g, clinic
      returning 1)
    select count(*)::int as inserted from inserted`;
  return row!.inserted;
}
