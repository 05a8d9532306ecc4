/**
 * Multi-clinic isolation, declared next to the tables so drizzle-kit generates the policies and
 * verification can read them back from the table definitions (getTableConfig(table).policies).
 *
 * What drizzle cannot express lives in migration 0007: the app_user role (created idempotently, never
 * dropped), set_clinic_context(), FORCE ROW LEVEL SECURITY, and the grants.
 */
import { sql, type SQL } from "drizzle-orm";
import { pgPolicy, type PgColumn, type PgPolicy } from "drizzle-orm/pg-core";

/** The non-superuser, non-BYPASSRLS role the application runs as (login roles are members of it). */
export const APP_ROLE = "app_user";

/** Transaction-local settings written by set_clinic_context(clinic, user, role). */
export const CONTEXT_SETTINGS = {
  clinicId: "app.current_clinic_id",
  userId: "app.current_user_id",
  userRole: "app.user_role",
} as const;

/**
 * The current clinic, or NULL when no context is set. NULLIF matters: once a transaction-local setting has
 * been used on a connection, PostgreSQL keeps the name with an empty value, and ''::uuid would raise an
 * error instead of showing zero rows.
 */
export const currentClinicIdSql = `NULLIF(current_setting('${CONTEXT_SETTINGS.clinicId}', true), '')::uuid`;

function tenantPredicate(tenantKey: PgColumn): SQL {
  return sql`${sql.identifier(tenantKey.name)} = ${sql.raw(currentClinicIdSql)}`;
}

/** SELECT, INSERT, UPDATE and DELETE limited to the current clinic's rows. */
export function tenantPolicies(table: string, tenantKey: PgColumn): PgPolicy[] {
  const predicate = tenantPredicate(tenantKey);
  return [
    pgPolicy(`${table}_tenant_select`, { for: "select", to: APP_ROLE, using: predicate }),
    pgPolicy(`${table}_tenant_insert`, { for: "insert", to: APP_ROLE, withCheck: predicate }),
    pgPolicy(`${table}_tenant_update`, { for: "update", to: APP_ROLE, using: predicate, withCheck: predicate }),
    pgPolicy(`${table}_tenant_delete`, { for: "delete", to: APP_ROLE, using: predicate }),
  ];
}

/** Append-only tables: read and add the current clinic's rows; with no UPDATE or DELETE policy, both are denied. */
export function appendOnlyPolicies(table: string, tenantKey: PgColumn): PgPolicy[] {
  const predicate = tenantPredicate(tenantKey);
  return [
    pgPolicy(`${table}_tenant_select`, { for: "select", to: APP_ROLE, using: predicate }),
    pgPolicy(`${table}_tenant_insert`, { for: "insert", to: APP_ROLE, withCheck: predicate }),
  ];
}
