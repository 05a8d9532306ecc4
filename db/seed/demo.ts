/**
 * Synthetic but realistic demo data for a target database: clinics, professionals with CRM/UF, patients
 * with valid CPF/CNS, non-overlapping appointments, LGPD consents, consent records, audit logs and
 * telemedicine sessions. Every person, number and note is generated; none is real.
 *
 * Works on a database migrated to any version that has the core tables: it reads which tables and columns
 * exist and inserts only those. Idempotent: does nothing when clinics already has rows. Must run as a
 * superuser or a BYPASSRLS role, since the tables force row level security.
 */
import { createHash } from "node:crypto";
import type postgres from "postgres";
import { cnpjFromSeed, cnsFromSeed, cpfFromSeed, seededRandom, type Uf } from "../../lib/br/identifiers";

export interface SeedOptions {
  /** Same seed, same data (ids included), given the same `now`. */
  seed?: number | string;
  /** 1 to 3 clinics. Default 2. */
  clinics?: number;
  professionalsPerClinic?: number;
  patientsPerClinic?: number;
  /** Appointments are scheduled around this instant. Default: the current time. */
  now?: Date;
}

export type SeedResult =
  | { skipped: true; reason: string }
  | { skipped: false; inserted: Record<string, number> };

type Row = Record<string, postgres.ParameterOrJSON<never> | null>;

const CLINICS: { name: string; city: string; uf: Uf; domain: string }[] = [
  { name: "Clínica Vida Saudável", city: "São Paulo", uf: "SP", domain: "vidasaudavel.example" },
  { name: "Centro Médico Atlântico", city: "Rio de Janeiro", uf: "RJ", domain: "atlantico.example" },
  { name: "Policlínica Serra Verde", city: "Belo Horizonte", uf: "MG", domain: "serraverde.example" },
];
const FIRST_NAMES = [
  "Ana", "Beatriz", "Carla", "Daniela", "Eduarda", "Fernanda", "Gabriela", "Helena", "Isabela", "Juliana",
  "Larissa", "Mariana", "Natália", "Patrícia", "Rafaela", "Sofia", "André", "Bruno", "Carlos", "Diego",
  "Eduardo", "Felipe", "Gustavo", "Henrique", "João", "Lucas", "Marcelo", "Pedro", "Rafael", "Thiago",
];
const LAST_NAMES = [
  "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
  "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
];
const ALLERGIES = ["dipirona", "penicilina", "látex", "amendoim", "frutos do mar", "ibuprofeno"];
const CONDITIONS = ["hipertensão", "diabetes tipo 2", "asma", "hipotireoidismo", "dislipidemia", "enxaqueca"];
const ACCESSIBILITY = ["cadeira de rodas", "intérprete de Libras", "baixa visão", "acompanhante"];
const COMPLAINTS = [
  "Dor de cabeça há três dias",
  "Retorno para avaliação de exames",
  "Tosse persistente e febre baixa",
  "Dor lombar ao acordar",
  "Acompanhamento de pressão arterial",
  "Renovação de receita de uso contínuo",
];
const NOTES = [
  "Paciente orientado sobre hidratação e repouso. Retorno em 15 dias.",
  "Exames dentro da normalidade. Manter conduta atual.",
  "Solicitado hemograma completo e raio-X de tórax.",
  "Ajuste de dose do anti-hipertensivo. Monitorar pressão em casa.",
];
/** TUSS: 10101012 consultation in office, 10101039 emergency consultation, 20101015 follow-up. */
const TUSS_CODES = ["10101012", "10101039", "20101015"];
const SPECIALTIES = ["clinica_medica", "cardiologia", "pediatria", "dermatologia"];

const SLOT_MS = 90 * 60_000;
const DURATION_MS = 45 * 60_000;

export async function seedDemoData(sql: postgres.Sql, opts: SeedOptions = {}): Promise<SeedResult> {
  const [role] = await sql<{ bypass: boolean }[]>`
    select rolsuper or rolbypassrls as bypass from pg_roles where rolname = current_user`;
  if (!role?.bypass) {
    throw new Error("seedDemoData must run as a superuser or a BYPASSRLS role: the tables force row level security");
  }
  const columns = await existingColumns(sql);
  if (!columns.has("public.clinics")) {
    throw new Error("seedDemoData needs the core tables (public.clinics is missing): migrate first");
  }

  return sql.begin(async (tx) => {
    // Two concurrent seeds must not both see an empty clinics table.
    await tx`select pg_advisory_xact_lock(hashtext('db/seed/demo'))`;
    const [existing] = await tx`select exists (select 1 from public.clinics) as found`;
    if (existing!.found) return { skipped: true, reason: "clinics already has rows" } as const;

    const data = generate(tx, opts);
    const inserted: Record<string, number> = {};
    for (const [table, rows] of data) {
      const available = columns.get(table);
      if (!available || rows.length === 0) continue;
      const cols = Object.keys(rows[0]!).filter((c) => available.has(c));
      // Bind parameters are capped at 65535 per statement.
      const batch = Math.max(1, Math.floor(60_000 / cols.length));
      for (let i = 0; i < rows.length; i += batch) {
        await tx`insert into ${tx(table)} ${tx(rows.slice(i, i + batch), cols)}`;
      }
      inserted[table] = rows.length;
    }
    return { skipped: false, inserted } as const;
  });
}

async function existingColumns(sql: postgres.Sql): Promise<Map<string, Set<string>>> {
  const rows = await sql<{ table: string; column: string }[]>`
    select n.nspname || '.' || c.relname as table, a.attname as column
    from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('public', 'lgpd', 'audit') and c.relkind in ('r', 'p')
      and a.attnum > 0 and not a.attisdropped`;
  const map = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!map.has(r.table)) map.set(r.table, new Set());
    map.get(r.table)!.add(r.column);
  }
  return map;
}

/** All rows, in insertion order (parents first), keyed by schema-qualified table name. */
function generate(tx: postgres.TransactionSql, opts: SeedOptions): [string, Row[]][] {
  const seed = opts.seed ?? "migration-console-demo";
  const random = seededRandom(`demo:${seed}`);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const pickSome = <T>(list: readonly T[], max: number): T[] =>
    [...new Set(Array.from({ length: Math.floor(random() * (max + 1)) }, () => pick(list)))];
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
    hex[12] = "4";
    hex[16] = "89ab"[Math.floor(random() * 4)]!;
    const h = hex.join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const surnames = () => {
    const first = pick(LAST_NAMES);
    const second = pick(LAST_NAMES.filter((n) => n !== first));
    return `${first} ${second}`;
  };
  const hexToken = (bytes: number) => Array.from({ length: bytes * 2 }, () => Math.floor(random() * 16).toString(16)).join("");
  const ip = () => `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
  const json = (value: postgres.JSONValue) => tx.json(value);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join("");
  const anvisaProtocol = () => `${digits(4)}.${digits(6)}/2024-${digits(2)}`;
  // CPF and CNS are unique columns: draw again on the (unlikely) repeat.
  const used = new Set<string>();
  const unique = (make: (attempt: number) => string) => {
    for (let attempt = 0; ; attempt++) {
      const value = make(attempt);
      if (!used.has(value)) return used.add(value), value;
    }
  };

  const now = opts.now ?? new Date();
  const clinicCount = Math.min(Math.max(opts.clinics ?? 2, 1), CLINICS.length);
  const professionalsPerClinic = opts.professionalsPerClinic ?? 3;
  const patientsPerClinic = opts.patientsPerClinic ?? 25;
  // The current slot starts at most 30 minutes before `now`, so appointment 0 is in progress.
  const base = Math.floor(now.getTime() / 1_800_000) * 1_800_000;
  const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
  const isoDate = (d: Date) => d.toISOString().slice(0, 10);

  const clinics: Row[] = [];
  const professionals: Row[] = [];
  const patients: Row[] = [];
  const appointments: Row[] = [];
  const consents: Row[] = [];
  const consentRecords: Row[] = [];
  const sessions: Row[] = [];
  const audits: Row[] = [];
  let patientSeq = 0;

  for (let c = 0; c < clinicCount; c++) {
    const info = CLINICS[c]!;
    const clinicId = uuid();
    clinics.push({
      id: clinicId,
      name: info.name,
      cnpj: cnpjFromSeed(`${seed}:${c}`),
      cnes_code: String(2_000_000 + Math.floor(random() * 7_000_000)),
      anvisa_license: `AFE-${info.uf}-${1000 + c}`,
      lgpd_dpo_email: `dpo@${info.domain}`,
      is_active: true,
      timezone: "America/Sao_Paulo",
    });

    const staff: { id: string; userId: string; crm: string; uf: Uf; specialty: string }[] = [];
    for (let p = 0; p < professionalsPerClinic; p++) {
      const id = uuid();
      const userId = uuid();
      const name = `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`;
      const crm = String(10_000 + Math.floor(random() * 190_000));
      staff.push({ id, userId, crm, uf: info.uf, specialty: pick(SPECIALTIES) });
      professionals.push({
        id,
        clinic_id: clinicId,
        user_id: userId,
        full_name: `Dr(a). ${name}`,
        email: `${name.toLowerCase().normalize("NFD").replace(/[^a-z ]/g, "").replace(" ", ".")}@${info.domain}`,
        council_type: "CRM",
        council_license: crm,
        council_state: info.uf,
        council_validation: "validated",
        license_expiry_date: isoDate(days(365 + Math.floor(random() * 700))),
        is_active: true,
      });
    }

    const clinicPatients: { id: string; consentId: string }[] = [];
    for (let i = 0; i < patientsPerClinic; i++) {
      const id = uuid();
      const seq = patientSeq++;
      const overdue = i < 2;
      const consentId = uuid();
      clinicPatients.push({ id, consentId });
      patients.push({
        id,
        clinic_id: clinicId,
        medical_record_number: `PR-${String(c + 1).padStart(2, "0")}-${String(i + 1).padStart(5, "0")}`,
        full_name: `${pick(FIRST_NAMES)} ${surnames()}`,
        birth_date: isoDate(days(-(365 * (5 + Math.floor(random() * 80)) + Math.floor(random() * 365)))),
        cpf: unique((n) => cpfFromSeed(`${seed}:${seq}:${n}`)),
        cns: unique((n) => cnsFromSeed(`${seed}:${seq}:${n}`)),
        rg: String(10_000_000 + Math.floor(random() * 89_999_999)),
        rg_issuing_organ: `SSP/${info.uf}`,
        sensitive_data_consent: json({ health_data: true, research: random() < 0.3 }),
        data_consent_status: "given",
        data_retention_until: isoDate(days(365 * 20)),
        // Two patients per clinic are overdue for anonymisation, for the retention check to report.
        data_anonymization_scheduled: overdue ? days(-30) : null,
        data_anonymized_at: null,
        right_to_forget_requested: overdue,
        data_portability_requested: i === 2,
        no_show_risk_score: Math.floor(random() * 101),
        no_show_prediction_features: json({ previous_no_shows: Math.floor(random() * 4), distance_km: Math.floor(random() * 40) }),
        accessibility_needs: arrayOrNull(tx, pickSome(ACCESSIBILITY, 1)),
        allergies: arrayOrNull(tx, pickSome(ALLERGIES, 2)),
        chronic_conditions: arrayOrNull(tx, pickSome(CONDITIONS, 2)),
        patient_notes: random() < 0.3 ? "Prefere contato por WhatsApp." : null,
        is_active: true,
      });
      const givenAt = days(-200 - Math.floor(random() * 300));
      consents.push({
        id: consentId,
        patient_id: id,
        clinic_id: clinicId,
        legal_basis: "health_protection",
        processing_purpose: "Prestação de assistência à saúde e prontuário eletrônico",
        data_categories: tx.array(["identification", "contact", "health"]),
        consent_version: "2024.1",
        consent_text: "Autorizo o tratamento dos meus dados pessoais e de saúde para fins de atendimento.",
        consent_status: "active",
        given_at: givenAt,
        scheduled_expiry_at: days(365 * 2),
        // Placeholder: the database replaces it (trigger since migration 0004, backfill in 0004 itself).
        consent_hash: createHash("sha256").update(`placeholder:${consentId}`).digest("hex"),
        cryptographic_proof: json({ algorithm: "sha256", computed_by: "database" }),
        collection_method: pick(["web_form", "tablet_reception", "app"]),
        ip_address: ip(),
        geolocation: json({ city: info.city, uf: info.uf }),
        data_portability_granted: true,
        evidence_documents: json([{ type: "signed_term", id: `TERM-${seq}` }]),
        legal_review_status: "approved",
      });
      if (i < 4) {
        consentRecords.push({
          id: uuid(),
          patient_id: id,
          clinic_id: clinicId,
          consent_type: "treatment",
          purpose: "Assistência à saúde",
          legal_basis: "health_protection",
          status: "active",
          given_at: givenAt,
          withdrawn_at: null,
          evidence: json({ channel: "reception" }),
        });
      }
      if (i === 0) {
        consentRecords.push({
          id: uuid(),
          patient_id: id,
          clinic_id: clinicId,
          consent_type: "marketing",
          purpose: "Envio de lembretes e campanhas de saúde",
          legal_basis: "consent",
          status: "withdrawn",
          given_at: days(-100),
          withdrawn_at: days(-10),
          evidence: json({ channel: "app", reason: "não deseja mensagens" }),
        });
      }
    }

    // Each professional's appointments sit on their own 90-minute grid and last 45 minutes: no overlaps.
    for (const pro of staff) {
      for (let k = -8; k <= 8; k++) {
        const start = new Date(base + k * SLOT_MS);
        const patient = pick(clinicPatients);
        const telemedicine = k % 3 === 0;
        const status = k < 0 ? pick(["completed", "completed", "completed", "no_show", "cancelled"]) : k === 0 ? "in_progress" : pick(["scheduled", "confirmed"]);
        const appointmentId = uuid();
        appointments.push({
          id: appointmentId,
          clinic_id: clinicId,
          patient_id: patient.id,
          professional_id: pro.id,
          start_time: start,
          end_time: new Date(start.getTime() + DURATION_MS),
          status,
          appointment_type: telemedicine ? "telemedicine" : "in_person",
          tuss_code: pick(TUSS_CODES),
          cfm_professional_crm: pro.crm,
          cfm_validation_status: "validated",
          anvisa_compliant: true,
          anvisa_protocol_number: random() < 0.2 ? anvisaProtocol() : null,
          prior_auth_required: random() < 0.2,
          prior_auth_number: null,
          no_show_risk_score: Math.floor(random() * 101),
          no_show_risk_factors: json({ weekday: start.getUTCDay(), lead_time_days: Math.abs(k) }),
          chief_complaint: pick(COMPLAINTS),
          clinical_notes: status === "completed" ? pick(NOTES) : null,
          created_by: uuid(),
        });
        if (telemedicine && status !== "cancelled") {
          sessions.push({
            id: uuid(),
            appointment_id: appointmentId,
            patient_id: patient.id,
            clinic_id: clinicId,
            cfm_professional_crm: pro.crm,
            cfm_professional_state: pro.uf,
            cfm_specialty_code: pro.specialty,
            icp_brasil_cert_serial_number: hexToken(8).toUpperCase(),
            icp_brasil_cert_fingerprint: hexToken(32),
            icp_brasil_cert_valid_to: days(365),
            ngs2_security_level: "level_2",
            ngs2_encryption_standard: "AES_256",
            ngs2_key_management: json({ provider: "hsm", rotation_days: 90 }),
            session_token: hexToken(24),
            session_encryption_key: Buffer.from(hexToken(32), "hex").toString("base64"),
            session_status: k < 0 ? (status === "completed" ? "completed" : "failed") : k === 0 ? "active" : "scheduled",
            started_at: k <= 0 ? start : null,
            ended_at: k < 0 ? new Date(start.getTime() + DURATION_MS) : null,
            recording_enabled: false,
            recording_consent: false,
            lgpd_compliant: true,
            lgpd_consent_id: patient.consentId,
            prescriptions: status === "completed" ? json([{ drug: "paracetamol 750 mg", dosage: "1 comprimido a cada 8 horas" }]) : null,
            patient_satisfaction: status === "completed" ? 3 + Math.floor(random() * 3) : null,
            insurance_pre_authorization: null,
          });
        }
      }
    }

    for (let a = 0; a < 20; a++) {
      const createdAt = new Date(now.getTime() - Math.floor(random() * 14 * 86_400_000));
      const retention = new Date(createdAt);
      // A day beyond seven years, so the check holds whatever the session time zone.
      retention.setUTCFullYear(retention.getUTCFullYear() + 7);
      retention.setUTCDate(retention.getUTCDate() + 1);
      const action = pick(["LOGIN", "VIEW", "READ", "CREATE", "UPDATE", "EXPORT", "LOGOUT"] as const);
      const patient = pick(clinicPatients);
      audits.push({
        id: uuid(),
        clinic_id: clinicId,
        user_id: pick(staff).userId,
        patient_id: action === "LOGIN" || action === "LOGOUT" ? null : patient.id,
        action,
        resource_type: action === "LOGIN" || action === "LOGOUT" ? "session" : "patient",
        resource_id: action === "LOGIN" || action === "LOGOUT" ? null : patient.id,
        status: "success",
        risk_level: action === "EXPORT" ? "HIGH" : "LOW",
        ip_address: ip(),
        details: json({ source: "demo-seed" }),
        created_at: createdAt,
        retention_until: retention,
      });
    }
  }

  return [
    ["public.clinics", clinics],
    ["public.professionals", professionals],
    ["public.patients", patients],
    ["public.appointments", appointments],
    ["lgpd.lgpd_consents", consents],
    ["public.consent_records", consentRecords],
    ["public.telemedicine_sessions", sessions],
    ["audit.audit_logs", audits],
  ];
}

function arrayOrNull(tx: postgres.TransactionSql, values: string[]) {
  return values.length > 0 ? tx.array(values) : null;
}
