/**
 * Drift between deployments: the target's live schema compared with what its ledger implies (the
 * applied migrations rebuilt on a shadow database), each differing object named, and the ones that
 * touch RLS, policies or tagged data mapped to the compliance board group they turn red.
 */
import { connect } from "../connection/connect";
import { redactUrl } from "../config/environments";
import { classificationOf, isTaggedTable } from "../../db/schema/classification";
import type { Catalog } from "../migrations";
import type { DriftObject } from "../store/schema/environment-status";
import { diffSnapshots, type SchemaChange, type SchemaDiff } from "./diff";
import { urlUser, withRoleRenamed } from "./plan";
import { snapshotSchema, type SchemaSnapshot } from "../introspect/schema-snapshot";
import { assertRehearsalIsolated } from "./isolation";
import { createShadowDatabase, createShadowDatabaseAt, type ShadowServer } from "./shadow";

export interface DriftRequest {
  shadow: ShadowServer;
  catalog: Catalog;
  /** The target's current version by its ledger (null: nothing applied). */
  current: string | null;
  targetUrl: string;
  live: SchemaSnapshot;
}

/** The live schema against the one the applied migrations produce; owners ignored (they differ by design). */
export async function measureDrift(request: DriftRequest): Promise<SchemaDiff> {
  // Rebuilding the applied migrations is a rehearsal too (their roles are cluster-wide): never on the target's cluster.
  await assertRehearsalIsolated(request.shadow.adminUrl, { name: redactUrl(request.targetUrl), url: request.targetUrl });
  const shadowDb = request.current ? await createShadowDatabaseAt(request.shadow, request.catalog, request.current) : await createShadowDatabase(request.shadow);
  try {
    const sql = connect(shadowDb.url, { application: "migration-console drift" });
    let implied: SchemaSnapshot;
    try {
      implied = await snapshotSchema(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
    const impliedOnTarget = withRoleRenamed(implied, urlUser(request.shadow.adminUrl), urlUser(request.targetUrl));
    const [a, b] = comparablePrivileges(impliedOnTarget, request.live);
    return diffSnapshots(a, b, { ignoreFields: ["owner"] });
  } finally {
    await shadowDb.drop();
  }
}

/**
 * A shadow server of another major version grants privileges the target's version does not know
 * (MAINTAIN exists from 17 on): only privilege kinds both servers have are compared.
 */
function comparablePrivileges(implied: SchemaSnapshot, live: SchemaSnapshot): [SchemaSnapshot, SchemaSnapshot] {
  const kinds = (s: SchemaSnapshot) => new Set(s.privileges.map((p) => p.privilege));
  const [ki, kl] = [kinds(implied), kinds(live)];
  const both = (p: { privilege: string }) => ki.has(p.privilege) && kl.has(p.privilege);
  return [
    { ...implied, privileges: implied.privileges.filter(both) },
    { ...live, privileges: live.privileges.filter(both) },
  ];
}

type Entry = Record<string, unknown>;
const str = (e: Entry, k: string) => String(e[k] ?? "");

/** How a person names the object, e.g. `policy tenant_isolation on public.patients`. */
export function objectName(section: SchemaChange["section"], e: Entry): string {
  const rel = `${str(e, "schema")}.${str(e, "name")}`;
  const on = `${str(e, "schema")}.${str(e, "table")}`;
  switch (section) {
    case "schemas":
      return `schema ${str(e, "name")}`;
    case "extensions":
      return `extension ${str(e, "name")}`;
    case "types":
      return `type ${rel}`;
    case "tables":
      return `table ${rel}`;
    case "views":
      return `${e.materialized ? "materialized view" : "view"} ${rel}`;
    case "sequences":
      return `sequence ${rel}`;
    case "columns":
      return `column ${on}.${str(e, "name")}`;
    case "constraints":
      return `constraint ${str(e, "name")} on ${on}`;
    case "indexes":
      return `index ${str(e, "name")} on ${on}`;
    case "policies":
      return `policy ${str(e, "name")} on ${on}`;
    case "triggers":
      return `trigger ${str(e, "name")} on ${on}`;
    case "functions":
      return `function ${rel}(${str(e, "identityArguments")})`;
    case "privileges": {
      const target = str(e, "objectType") === "schema" ? str(e, "name") : rel;
      return `grant ${str(e, "privilege")} on ${str(e, "objectType")} ${target} to ${str(e, "grantee")}`;
    }
  }
}

const taggedTable = isTaggedTable;

/** The board group a drifted object turns red, or null when it touches no RLS, policy or tagged data. */
export function driftGroup(change: SchemaChange): string | null {
  const e = (change.after ?? change.before)!;
  switch (change.section) {
    case "tables":
      if (change.change === "changed" && change.fields.some((f) => f === "rlsEnabled" || f === "rlsForced")) return "rls-enabled-forced";
      return taggedTable(str(e, "schema"), str(e, "name")) ? "tables-columns" : null;
    case "policies":
      return "tenant-policies";
    case "columns":
      // A tagged column, or any column of a table that holds tagged data (an untagged one there is unreviewed).
      return classificationOf(str(e, "schema"), str(e, "table"), str(e, "name")) || taggedTable(str(e, "schema"), str(e, "table")) ? "tables-columns" : null;
    case "privileges":
      return str(e, "objectType") !== "schema" && str(e, "objectType") !== "function" && taggedTable(str(e, "schema"), str(e, "name")) ? "roles" : null;
    case "triggers":
      // The append-only and consent-hash triggers guard audit and consent records.
      return str(e, "schema") === "audit" || str(e, "schema") === "lgpd" ? "append-only" : null;
    default:
      return null;
  }
}

const CHILD_SECTIONS = new Set<SchemaChange["section"]>(["columns", "constraints", "indexes", "policies", "triggers"]);

/**
 * Each drifted object once: the parts of a table added or removed as a whole (its columns,
 * constraints, indexes, policies, triggers, grants) are named by the table alone.
 */
export function driftObjects(diff: SchemaDiff): DriftObject[] {
  const whole = new Set(
    diff.changes.filter((c) => c.section === "tables" && c.change !== "changed").map((c) => `${c.change}:${str((c.after ?? c.before)!, "schema")}.${str((c.after ?? c.before)!, "name")}`),
  );
  const partOfWhole = (c: SchemaChange) => {
    const e = (c.after ?? c.before)!;
    if (CHILD_SECTIONS.has(c.section)) return whole.has(`${c.change}:${str(e, "schema")}.${str(e, "table")}`);
    if (c.section === "privileges" && str(e, "objectType") === "table") return whole.has(`${c.change}:${str(e, "schema")}.${str(e, "name")}`);
    return false;
  };
  return diff.changes.filter((c) => !partOfWhole(c)).map((c) => ({
    object: objectName(c.section, (c.after ?? c.before)!),
    change: c.change,
    fields: c.fields,
    group: driftGroup(c),
  }));
}

/** One line per object for logs, notifications and the CLI: `table public.patients (rlsEnabled changed)`. */
export function describeDriftObject(o: DriftObject): string {
  return `${o.object} ${o.change === "changed" ? `(${o.fields.join(", ")} changed)` : o.change === "added" ? "(added by hand)" : "(missing)"}`;
}
