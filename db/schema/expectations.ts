/**
 * What a correctly migrated target must contain, derived from the drizzle tables so that verification
 * never keeps a second, hand-written list: required columns and types, tenant keys, policies, constraint
 * and index names. Only what drizzle cannot express is listed by hand (HAND_WRITTEN_OBJECTS), and a test
 * checks that list against a migrated database.
 */
import { getTableConfig, PgEnumColumn, type PgColumn, type PgPolicyToOption, type PgTable } from "drizzle-orm/pg-core";
import { appointments } from "./appointments";
import { auditLogs } from "./audit-logs";
import { clinics } from "./clinics";
import { consentRecords } from "./consent-records";
import { lgpdConsents } from "./lgpd-consents";
import { patients } from "./patients";
import { professionals } from "./professionals";
import { APP_ROLE, CONTEXT_SETTINGS, currentClinicIdSql } from "./rls";
import { MIN_SERVER_VERSION_NUM, REQUIRED_EXTENSIONS, TARGET_SCHEMAS } from "./schemas";
import { telemedicineSessions } from "./telemedicine-sessions";

/** Every table of the target schema, in creation order. */
export const TARGET_TABLES: readonly PgTable[] = [
  clinics,
  professionals,
  patients,
  appointments,
  lgpdConsents,
  consentRecords,
  telemedicineSessions,
  auditLogs,
];

/** Rows are only ever added: no UPDATE or DELETE policy, no UPDATE or DELETE privilege. */
export const APPEND_ONLY_TABLES = ["audit.audit_logs", "public.consent_records"] as const;

/** The column that carries the tenant in every table but the tenant table itself. */
export const TENANT_COLUMN = "clinic_id";

export type PolicyCommand = "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "ALL";

export interface ColumnExpectation {
  name: string;
  /** As format_type prints it with search_path = pg_catalog (what lib/introspect/schema-snapshot reports). */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

export interface PolicyExpectation {
  name: string;
  command: PolicyCommand;
  roles: string[];
  hasUsing: boolean;
  hasWithCheck: boolean;
}

export interface TableExpectation {
  schema: string;
  name: string;
  qualifiedName: string;
  columns: ColumnExpectation[];
  /** `clinic_id`, or the referenced key (`id`) for the table clinic_id points to; null if not tenant-scoped. */
  tenantKey: string | null;
  appendOnly: boolean;
  /** Every target table has RLS enabled and forced. */
  rlsForced: true;
  policies: PolicyExpectation[];
  primaryKey: string[];
  uniqueConstraints: string[];
  checks: string[];
  foreignKeys: string[];
  indexes: string[];
}

/** Objects the migrations create by hand because drizzle cannot express them. */
export const HAND_WRITTEN_OBJECTS = {
  constraints: [{ table: "public.appointments", name: "appointments_no_professional_overlap", type: "exclusion" }],
  triggers: [
    { table: "lgpd.lgpd_consents", name: "lgpd_consents_set_hash" },
    { table: "lgpd.lgpd_consents", name: "lgpd_consents_guard_hash" },
  ],
  functions: [
    { schema: "public", name: "set_clinic_context", identityArguments: "p_clinic_id uuid, p_user_id uuid, p_role text" },
    { schema: "lgpd", name: "consent_canonical_text", identityArguments: "c lgpd.lgpd_consents" },
    { schema: "lgpd", name: "consent_hash", identityArguments: "c lgpd.lgpd_consents" },
    { schema: "lgpd", name: "lgpd_consents_set_hash", identityArguments: "" },
    { schema: "lgpd", name: "lgpd_consents_guard_hash", identityArguments: "" },
  ],
} as const;

function columnType(column: PgColumn): string {
  if (column instanceof PgEnumColumn) return `${column.enum.schema ?? "public"}.${column.enum.enumName}`;
  return column.getSQLType();
}

function policyRoles(to: PgPolicyToOption | undefined): string[] {
  if (to === undefined) return ["public"];
  if (Array.isArray(to)) return to.flatMap(policyRoles);
  return [typeof to === "string" ? to : to.name];
}

function qualified(table: PgTable): string {
  const config = getTableConfig(table);
  return `${config.schema ?? "public"}.${config.name}`;
}

/** Tables that clinic_id columns reference, with the referenced column: the tenant itself. */
function tenantRoots(tables: readonly PgTable[]): Map<string, string> {
  const roots = new Map<string, string>();
  for (const table of tables) {
    for (const fk of getTableConfig(table).foreignKeys) {
      const ref = fk.reference();
      if (ref.columns.length === 1 && ref.columns[0]!.name === TENANT_COLUMN) {
        roots.set(qualified(ref.foreignTable), ref.foreignColumns[0]!.name);
      }
    }
  }
  return roots;
}

export function describeTables(tables: readonly PgTable[] = TARGET_TABLES): TableExpectation[] {
  const roots = tenantRoots(tables);
  return tables.map((table): TableExpectation => {
    const config = getTableConfig(table);
    const qualifiedName = qualified(table);
    const hasTenantColumn = config.columns.some((c) => c.name === TENANT_COLUMN);
    return {
      schema: config.schema ?? "public",
      name: config.name,
      qualifiedName,
      columns: config.columns.map((c) => ({
        name: c.name,
        type: columnType(c),
        notNull: c.notNull,
        // A database default, not a client-side $defaultFn.
        hasDefault: c.default !== undefined,
      })),
      tenantKey: hasTenantColumn ? TENANT_COLUMN : (roots.get(qualifiedName) ?? null),
      appendOnly: (APPEND_ONLY_TABLES as readonly string[]).includes(qualifiedName),
      rlsForced: true,
      policies: config.policies.map((p) => ({
        name: p.name,
        command: (p.for ?? "all").toUpperCase() as PolicyCommand,
        roles: policyRoles(p.to),
        hasUsing: p.using !== undefined,
        hasWithCheck: p.withCheck !== undefined,
      })),
      primaryKey: config.columns.filter((c) => c.primary).map((c) => c.name),
      uniqueConstraints: [
        ...config.columns.filter((c) => c.isUnique && c.uniqueName).map((c) => c.uniqueName!),
        ...config.uniqueConstraints.map((u) => u.getName()).filter((n): n is string => Boolean(n)),
      ],
      checks: config.checks.map((c) => c.name),
      foreignKeys: config.foreignKeys.map((fk) => fk.getName()),
      indexes: config.indexes.map((i) => i.config.name).filter((n): n is string => Boolean(n)),
    };
  });
}

export const schemaExpectations = {
  schemas: TARGET_SCHEMAS,
  extensions: REQUIRED_EXTENSIONS,
  minServerVersionNum: MIN_SERVER_VERSION_NUM,
  appRole: APP_ROLE,
  contextSettings: CONTEXT_SETTINGS,
  /** The SQL the tenant policies compare the tenant key with. */
  currentClinicIdSql,
  tables: describeTables(),
  handWritten: HAND_WRITTEN_OBJECTS,
};

export type SchemaExpectations = typeof schemaExpectations;
