/**
 * Which columns hold regulated data, by schema-qualified table name and SQL column name. The console reads
 * this map to route approvals (a migration touching health data needs the DPO), to lint migrations, to
 * mask values, and to verify. tests/schema/classification.test.ts keeps it in step with the tables.
 *
 * Tags from domain.md: [ID] identifier, [PD] personal, [HEALTH] sensitive health data (LGPD Art. 5 II,
 * Art. 11). Beyond domain.md: `secret` for credentials the console must never display, and
 * telemedicine prescriptions as health data.
 */

export type DataClass = "identifier" | "personal" | "health" | "secret";

export const DATA_CLASSES: readonly DataClass[] = ["identifier", "personal", "health", "secret"];

/** The short tags used in domain.md and in the UI. */
export const DATA_CLASS_TAGS: Record<DataClass, string> = {
  identifier: "ID",
  personal: "PD",
  health: "HEALTH",
  secret: "SECRET",
};

/** What each class evidences, for the compliance page. */
export const DATA_CLASS_BASIS: Record<DataClass, string> = {
  identifier: "LGPD Art. 5 I (identifies a natural person)",
  personal: "LGPD Art. 5 I (personal data)",
  health: "LGPD Art. 5 II and Art. 11 (sensitive health data)",
  secret: "Security credential (LGPD Art. 46): never displayed",
};

export type QualifiedTableName = `${string}.${string}`;

export const DATA_CLASSIFICATION = {
  "public.professionals": {
    email: "personal",
  },
  "public.patients": {
    full_name: "personal",
    birth_date: "personal",
    cpf: "identifier",
    cns: "identifier",
    rg: "identifier",
    accessibility_needs: "health",
    allergies: "health",
    chronic_conditions: "health",
    patient_notes: "health",
  },
  "public.appointments": {
    chief_complaint: "health",
    clinical_notes: "health",
  },
  "lgpd.lgpd_consents": {
    ip_address: "personal",
    geolocation: "personal",
  },
  "public.telemedicine_sessions": {
    session_encryption_key: "secret",
    // A bearer credential for joining the consultation.
    session_token: "secret",
    prescriptions: "health",
  },
  "audit.audit_logs": {
    ip_address: "personal",
  },
} as const satisfies Record<QualifiedTableName, Record<string, DataClass>>;

/**
 * Tags of columns and tables that have left db/schema. A migration that drops or rewrites them, and
 * every target that still holds their data, must still be recognised as touching regulated data:
 * when a tagged column is removed from the schema, move its tag here instead of deleting it.
 */
export const RETIRED_CLASSIFICATION = {} as const satisfies Record<QualifiedTableName, Record<string, DataClass>>;

export interface TaggedColumn {
  schema: string;
  table: string;
  column: string;
  dataClass: DataClass;
}

const byTable: ReadonlyMap<string, Readonly<Record<string, DataClass>>> = new Map(
  [...new Set([...Object.keys(DATA_CLASSIFICATION), ...Object.keys(RETIRED_CLASSIFICATION)])].map((table) => [
    table,
    { ...(RETIRED_CLASSIFICATION as Record<string, Record<string, DataClass>>)[table], ...(DATA_CLASSIFICATION as Record<string, Record<string, DataClass>>)[table] },
  ]),
);

/** `public.patients`; a bare table name means the public schema. */
export function qualifiedTableName(schema: string | null | undefined, table: string): QualifiedTableName {
  return `${schema || "public"}.${table}`;
}

/** The class of one column, or null when it carries no regulated data. */
export function classificationOf(schema: string | null | undefined, table: string, column: string): DataClass | null {
  const columns = byTable.get(qualifiedTableName(schema, table));
  return (columns && Object.hasOwn(columns, column) ? columns[column] : null) ?? null;
}

/** Whether any column of the table is tagged. */
export function isTaggedTable(schema: string | null | undefined, table: string): boolean {
  return byTable.has(qualifiedTableName(schema, table));
}

/** The distinct classes a table holds, e.g. ["health", "identifier", "personal"]. */
export function classesOfTable(schema: string | null | undefined, table: string): DataClass[] {
  const columns = byTable.get(qualifiedTableName(schema, table));
  return DATA_CLASSES.filter((c) => columns && Object.values(columns).includes(c));
}

/** Every tagged column, optionally limited to some classes; sorted by schema, table, column. */
export function taggedColumns(options: { classes?: readonly DataClass[] } = {}): TaggedColumn[] {
  const out: TaggedColumn[] = [];
  for (const [qualified, columns] of byTable) {
    const dot = qualified.indexOf(".");
    for (const [column, dataClass] of Object.entries(columns)) {
      if (options.classes && !options.classes.includes(dataClass)) continue;
      out.push({ schema: qualified.slice(0, dot), table: qualified.slice(dot + 1), column, dataClass });
    }
  }
  const key = (c: TaggedColumn) => `${c.schema}\u0000${c.table}\u0000${c.column}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Secret columns are never displayed, not even masked. */
export function isSecretColumn(schema: string | null | undefined, table: string, column: string): boolean {
  return classificationOf(schema, table, column) === "secret";
}
