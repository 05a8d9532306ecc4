/**
 * What verification expects, read from db/schema and nothing else: schemaExpectations (tables, columns,
 * tenant keys, policies, constraint and index names) plus the details the checks compare that
 * expectations.ts does not spell out (index methods and columns, unique and foreign key columns), taken
 * from the same drizzle table definitions. The data checks name their tables and columns through the
 * drizzle column objects, so a rename in db/schema reaches them.
 */
import { getTableConfig, IndexedColumn, PgEnumColumn, type PgColumn, type PgTable } from "drizzle-orm/pg-core";
import { UFS } from "../br/identifiers";
import { classesOfTable, type DataClass } from "../../db/schema/classification";
import {
  APPEND_ONLY_TABLES,
  HAND_WRITTEN_OBJECTS,
  schemaExpectations,
  TARGET_TABLES,
  TENANT_COLUMN,
  type TableExpectation,
} from "../../db/schema/expectations";
import { auditLogs } from "../../db/schema/audit-logs";
import { lgpdConsents } from "../../db/schema/lgpd-consents";
import { patients } from "../../db/schema/patients";
import { telemedicineSessions } from "../../db/schema/telemedicine-sessions";

export interface IndexDetail {
  name: string;
  method: string;
  unique: boolean;
  /** Column names in order; null for an expression (e.g. to_tsvector(...)). */
  columns: (string | null)[];
  partial: boolean;
}

export interface UniqueDetail {
  name: string;
  columns: string[];
}

export interface ForeignKeyDetail {
  name: string;
  columns: string[];
  foreignTable: string;
  foreignColumns: string[];
}

export interface VerifyTable extends TableExpectation {
  indexDetails: IndexDetail[];
  uniqueDetails: UniqueDetail[];
  foreignKeyDetails: ForeignKeyDetail[];
  /** LGPD classes of the columns it holds (classification.ts), for summaries. */
  dataClasses: DataClass[];
}

export interface QualifiedFunction {
  schema: string;
  name: string;
  identityArguments: string;
}

export interface VerifyExpectations {
  schemas: readonly string[];
  extensions: readonly string[];
  minServerVersionNum: number;
  appRole: string;
  /** The column that carries the tenant in every table but the tenant table itself (clinic_id). */
  tenantColumn: string;
  contextSettings: typeof schemaExpectations.contextSettings;
  currentClinicIdSql: string;
  tables: VerifyTable[];
  appendOnlyTables: readonly string[];
  contextFunction: QualifiedFunction;
  handWritten: typeof HAND_WRITTEN_OBJECTS;
  consent: {
    table: string;
    idColumn: string;
    hashColumn: string;
    /** lgpd.consent_hash(row): the database's own recomputation. */
    hashFunction: QualifiedFunction;
    /** A hashed field, changed on a copy of a row to prove the function depends on the row. */
    hashedTextColumn: string;
    triggers: readonly { table: string; name: string }[];
  };
  retention: {
    auditTable: string;
    auditIdColumn: string;
    createdAtColumn: string;
    retentionUntilColumn: string;
    /** ANVISA/CFM record keeping: the audit_logs_retention_7_years check in db/schema/audit-logs.ts. */
    auditYears: number;
    patientsTable: string;
    patientIdColumn: string;
    anonymizationScheduledColumn: string;
    anonymizedAtColumn: string;
  };
  telemedicine: {
    table: string;
    idColumn: string;
    statusColumn: string;
    activeStatus: string;
    crmColumn: string;
    ufColumn: string;
    certSerialColumn: string;
    certFingerprintColumn: string;
    certValidToColumn: string;
    startedAtColumn: string;
    ufs: readonly string[];
  };
}

function qualified(table: PgTable): string {
  const config = getTableConfig(table);
  return `${config.schema ?? "public"}.${config.name}`;
}

function details(table: PgTable): Pick<VerifyTable, "indexDetails" | "uniqueDetails" | "foreignKeyDetails"> {
  const config = getTableConfig(table);
  return {
    indexDetails: config.indexes
      .filter((i) => i.config.name)
      .map((i) => ({
        name: i.config.name!,
        method: i.config.method ?? "btree",
        unique: i.config.unique,
        columns: i.config.columns.map((c) => (c instanceof IndexedColumn && c.name ? c.name : null)),
        partial: i.config.where !== undefined,
      })),
    uniqueDetails: [
      ...config.columns.filter((c) => c.isUnique && c.uniqueName).map((c) => ({ name: c.uniqueName!, columns: [c.name] })),
      ...config.uniqueConstraints
        .filter((u) => u.getName())
        .map((u) => ({ name: u.getName()!, columns: u.columns.map((c) => c.name) })),
    ],
    foreignKeyDetails: config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return {
        name: fk.getName(),
        columns: ref.columns.map((c) => c.name),
        foreignTable: qualified(ref.foreignTable),
        foreignColumns: ref.foreignColumns.map((c) => c.name),
      };
    }),
  };
}

function handWrittenFunction(name: string): QualifiedFunction {
  const fn = HAND_WRITTEN_OBJECTS.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`db/schema HAND_WRITTEN_OBJECTS lists no function ${name}`);
  return { schema: fn.schema, name: fn.name, identityArguments: fn.identityArguments };
}

const col = (column: PgColumn) => column.name;

function enumValue(column: PgColumn, value: string): string {
  if (!(column instanceof PgEnumColumn) || !column.enum.enumValues.includes(value)) {
    throw new Error(`db/schema: ${column.name} has no enum value ${value}`);
  }
  return value;
}

export function buildExpectations(): VerifyExpectations {
  const tables = schemaExpectations.tables.map((t, i): VerifyTable => {
    const table = TARGET_TABLES[i]!;
    if (qualified(table) !== t.qualifiedName) throw new Error("db/schema: TARGET_TABLES and describeTables() disagree");
    return { ...t, ...details(table), dataClasses: classesOfTable(t.schema, t.name) };
  });
  const consentTable = qualified(lgpdConsents);
  return {
    schemas: schemaExpectations.schemas,
    extensions: schemaExpectations.extensions,
    minServerVersionNum: schemaExpectations.minServerVersionNum,
    appRole: schemaExpectations.appRole,
    tenantColumn: TENANT_COLUMN,
    contextSettings: schemaExpectations.contextSettings,
    currentClinicIdSql: schemaExpectations.currentClinicIdSql,
    tables,
    appendOnlyTables: APPEND_ONLY_TABLES,
    contextFunction: handWrittenFunction("set_clinic_context"),
    handWritten: HAND_WRITTEN_OBJECTS,
    consent: {
      table: consentTable,
      idColumn: col(lgpdConsents.id),
      hashColumn: col(lgpdConsents.consentHash),
      hashFunction: handWrittenFunction("consent_hash"),
      hashedTextColumn: col(lgpdConsents.consentText),
      triggers: HAND_WRITTEN_OBJECTS.triggers.filter((t) => t.table === consentTable),
    },
    retention: {
      auditTable: qualified(auditLogs),
      auditIdColumn: col(auditLogs.id),
      createdAtColumn: col(auditLogs.createdAt),
      retentionUntilColumn: col(auditLogs.retentionUntil),
      auditYears: 7,
      patientsTable: qualified(patients),
      patientIdColumn: col(patients.id),
      anonymizationScheduledColumn: col(patients.dataAnonymizationScheduled),
      anonymizedAtColumn: col(patients.dataAnonymizedAt),
    },
    telemedicine: {
      table: qualified(telemedicineSessions),
      idColumn: col(telemedicineSessions.id),
      statusColumn: col(telemedicineSessions.sessionStatus),
      activeStatus: enumValue(telemedicineSessions.sessionStatus, "active"),
      crmColumn: col(telemedicineSessions.cfmProfessionalCrm),
      ufColumn: col(telemedicineSessions.cfmProfessionalState),
      certSerialColumn: col(telemedicineSessions.icpBrasilCertSerialNumber),
      certFingerprintColumn: col(telemedicineSessions.icpBrasilCertFingerprint),
      certValidToColumn: col(telemedicineSessions.icpBrasilCertValidTo),
      startedAtColumn: col(telemedicineSessions.startedAt),
      ufs: UFS,
    },
  };
}

let cached: VerifyExpectations | null = null;

/** Built once per process: the schema is code. */
export function verifyExpectations(): VerifyExpectations {
  return (cached ??= buildExpectations());
}

/** `"public"."patients"` from `public.patients`. */
export function quoteQualified(name: string): string {
  const dot = name.indexOf(".");
  return `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
