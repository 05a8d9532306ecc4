/**
 * A catalog snapshot (schema-snapshot.ts) written out as readable SQL DDL: what "the schema before
 * the run" downloads as. No pg_dump is needed, so it works against any server version and in the
 * demo (whose embedded PostgreSQL ships no pg_dump). Objects come in an order that can be replayed on
 * an empty database: schemas, extensions, types, sequences, tables with their columns, functions,
 * constraints (foreign keys last), indexes, views, triggers, row-level security and policies, grants.
 * What the snapshot does not hold (sequence positions, storage parameters, comments, data) is not
 * written; the header says so.
 */
import type { SchemaSnapshot, TableEntry } from "../introspect/schema-snapshot";

const q = (id: string) => (/^[a-z_][a-z0-9_]*$/.test(id) && !RESERVED.has(id) ? id : `"${id.replace(/"/g, '""')}"`);
const rel = (schema: string, name: string) => `${q(schema)}.${q(name)}`;
const RESERVED = new Set(["user", "order", "group", "table", "select", "where", "from", "default", "check", "references", "primary", "unique", "end", "limit", "offset", "column", "constraint", "desc", "asc", "all", "analyse", "analyze", "and", "any", "as", "both", "case", "cast", "collate", "create", "current_date", "current_role", "current_time", "current_timestamp", "current_user", "deferrable", "distinct", "do", "else", "except", "false", "fetch", "for", "foreign", "grant", "having", "in", "initially", "intersect", "into", "lateral", "leading", "not", "null", "only", "or", "placing", "returning", "session_user", "some", "symmetric", "then", "to", "trailing", "true", "union", "using", "variadic", "when", "window", "with"]);
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function snapshotToSql(snapshot: SchemaSnapshot, header: string[] = []): string {
  const out: string[] = [];
  const section = (title: string) => out.push("", `-- ${title}`);
  out.push(
    ...header.map((h) => `-- ${h}`),
    "-- Generated from the console's catalog snapshot (not pg_dump): schemas, types, tables, constraints, indexes,",
    "-- functions, views, triggers, row-level security, policies and grants. Not included: data, sequence positions,",
    "-- storage parameters, comments, and objects that belong to an extension (the CREATE EXTENSION stands for them).",
    "SET check_function_bodies = false;",
  );

  section("Schemas");
  for (const s of snapshot.schemas) if (s.name !== "public") out.push(`CREATE SCHEMA IF NOT EXISTS ${q(s.name)} AUTHORIZATION ${q(s.owner)};`);

  if (snapshot.extensions.length) section("Extensions");
  for (const e of snapshot.extensions) if (e.name !== "plpgsql") out.push(`CREATE EXTENSION IF NOT EXISTS ${q(e.name)} WITH SCHEMA ${q(e.schema)} VERSION ${literal(e.version)};`);

  if (snapshot.types.length) section("Types");
  for (const t of snapshot.types) {
    if (t.kind === "enum") out.push(`CREATE TYPE ${rel(t.schema, t.name)} AS ENUM (${(t.labels ?? []).map(literal).join(", ")});`);
    else if (t.kind === "domain") out.push(`CREATE DOMAIN ${rel(t.schema, t.name)} AS ${t.baseType};`);
    else out.push(`-- type ${rel(t.schema, t.name)} (${t.kind}): not described by the snapshot`);
  }

  const owned = new Set(snapshot.sequences.filter((s) => s.ownedBy).map((s) => `${s.schema}.${s.name}`));
  const identity = new Set(snapshot.columns.filter((c) => c.identity).map((c) => `${c.schema}.${c.table}.${c.name}`));
  const sequences = snapshot.sequences.filter((s) => !(s.ownedBy && identity.has(`${s.schema}.${s.ownedBy}`)));
  if (sequences.length) section("Sequences");
  for (const s of sequences) out.push(`CREATE SEQUENCE ${rel(s.schema, s.name)} AS ${s.dataType};`);

  // Functions before tables (defaults and checks may call them; bodies are not checked, see above),
  // except those whose signature uses a table's row type, which need the table first.
  const rowTypes = snapshot.tables.map((t) => new RegExp(`(^|[^\\w.])(${t.schema}\\.)?"?${t.name}"?($|[^\\w])`));
  const usesRowType = (f: SchemaSnapshot["functions"][number]) => rowTypes.some((r) => r.test(f.identityArguments) || r.test(f.returns ?? ""));
  const functionSql = (f: SchemaSnapshot["functions"][number]) =>
    f.definition ? `${f.definition.trimEnd()};` : `-- ${f.kind} ${rel(f.schema, f.name)}(${f.identityArguments}): not printable from the catalog`;
  if (snapshot.functions.length) section("Functions");
  for (const f of snapshot.functions) if (!usesRowType(f)) out.push(functionSql(f));

  section("Tables");
  for (const t of snapshot.tables) out.push(...tableSql(snapshot, t), "");
  for (const s of sequences) {
    if (s.ownedBy && owned.has(`${s.schema}.${s.name}`)) {
      const [table, column] = s.ownedBy.split(".") as [string, string];
      out.push(`ALTER SEQUENCE ${rel(s.schema, s.name)} OWNED BY ${rel(s.schema, table)}.${q(column)};`);
    }
  }

  const late = snapshot.functions.filter(usesRowType);
  if (late.length) section("Functions over a table's row type");
  for (const f of late) out.push(functionSql(f));

  const constraints = snapshot.constraints.filter((c) => c.type !== "trigger");
  if (constraints.length) section("Constraints (foreign keys last)");
  const order = (type: string) => (type === "primary_key" ? 0 : type === "foreign_key" ? 2 : 1);
  for (const c of [...constraints].sort((a, b) => order(a.type) - order(b.type))) {
    out.push(`ALTER TABLE ${rel(c.schema, c.table)} ADD CONSTRAINT ${q(c.name)} ${c.definition};`);
  }

  const indexes = snapshot.indexes.filter((i) => !i.constraint);
  if (indexes.length) section("Indexes");
  for (const i of indexes) out.push(`${i.definition};${i.valid ? "" : " -- INVALID on the target (a failed CREATE INDEX CONCURRENTLY)"}`);

  if (snapshot.views.length) section("Views");
  for (const v of snapshot.views) out.push(`CREATE ${v.materialized ? "MATERIALIZED VIEW" : "VIEW"} ${rel(v.schema, v.name)} AS\n${v.definition.trimEnd().replace(/;$/, "")};`);

  if (snapshot.triggers.length) section("Triggers");
  for (const tr of snapshot.triggers) {
    out.push(`${tr.definition};`);
    if (tr.enabled === "disabled") out.push(`ALTER TABLE ${rel(tr.schema, tr.table)} DISABLE TRIGGER ${q(tr.name)};`);
    if (tr.enabled === "always") out.push(`ALTER TABLE ${rel(tr.schema, tr.table)} ENABLE ALWAYS TRIGGER ${q(tr.name)};`);
    if (tr.enabled === "replica") out.push(`ALTER TABLE ${rel(tr.schema, tr.table)} ENABLE REPLICA TRIGGER ${q(tr.name)};`);
  }

  const secured = snapshot.tables.filter((t) => t.rlsEnabled || t.rlsForced);
  if (secured.length || snapshot.policies.length) section("Row-level security and policies");
  for (const t of secured) {
    if (t.rlsEnabled) out.push(`ALTER TABLE ${rel(t.schema, t.name)} ENABLE ROW LEVEL SECURITY;`);
    if (t.rlsForced) out.push(`ALTER TABLE ${rel(t.schema, t.name)} FORCE ROW LEVEL SECURITY;`);
  }
  for (const p of snapshot.policies) {
    out.push(
      `CREATE POLICY ${q(p.name)} ON ${rel(p.schema, p.table)} AS ${p.permissive ? "PERMISSIVE" : "RESTRICTIVE"} FOR ${p.command} TO ${p.roles.map((r) => (r === "public" ? "PUBLIC" : q(r))).join(", ")}` +
        `${p.using ? ` USING (${p.using})` : ""}${p.withCheck ? ` WITH CHECK (${p.withCheck})` : ""};`,
    );
  }

  if (snapshot.privileges.length) section("Grants (the effective privileges; owners' own are implicit)");
  const owners = new Map<string, string>([
    ...snapshot.tables.map((t) => [`${t.schema}.${t.name}`, t.owner] as const),
    ...snapshot.schemas.map((s) => [`schema:${s.name}`, s.owner] as const),
  ]);
  for (const g of snapshot.privileges) {
    const owner = g.objectType === "schema" ? owners.get(`schema:${g.name}`) : owners.get(`${g.schema}.${g.name}`);
    if (owner && owner === g.grantee) continue;
    const grantee = g.grantee === "PUBLIC" ? "PUBLIC" : q(g.grantee);
    const object =
      g.objectType === "schema"
        ? `SCHEMA ${q(g.name)}`
        : g.objectType === "function"
          ? `FUNCTION ${q(g.schema)}.${g.name.replace(/^([^(]+)/, (n) => q(n))}`
          : `${g.objectType === "sequence" ? "SEQUENCE" : "TABLE"} ${rel(g.schema, g.name)}`;
    out.push(`GRANT ${g.privilege} ON ${object} TO ${grantee}${g.grantable ? " WITH GRANT OPTION" : ""};`);
  }
  return out.join("\n") + "\n";
}

function tableSql(snapshot: SchemaSnapshot, t: TableEntry): string[] {
  const columns = snapshot.columns.filter((c) => c.schema === t.schema && c.table === t.name).sort((a, b) => a.position - b.position);
  const lines = columns.map((c) => {
    const parts = [`  ${q(c.name)} ${c.type}`];
    if (c.collation) parts.push(`COLLATE ${q(c.collation)}`);
    if (c.identity) parts.push(`GENERATED ${c.identity === "always" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY`);
    else if (c.generated && c.default) parts.push(`GENERATED ALWAYS AS (${c.default}) ${c.generated === "virtual" ? "VIRTUAL" : "STORED"}`);
    else if (c.default) parts.push(`DEFAULT ${c.default}`);
    if (c.notNull) parts.push("NOT NULL");
    return parts.join(" ");
  });
  return [
    `CREATE TABLE ${rel(t.schema, t.name)} (${lines.length ? `\n${lines.join(",\n")}\n` : ""})${t.kind === "partitioned_table" ? " -- partitioned: the partition key is not in the snapshot" : ""};`,
    `ALTER TABLE ${rel(t.schema, t.name)} OWNER TO ${q(t.owner)};`,
  ];
}
