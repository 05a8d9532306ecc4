/**
 * A catalog snapshot written as readable SQL, for the "schema before the run" download when no
 * pg_dump of the server's version is installed: schemas, extensions, types, tables with columns and
 * constraints, indexes, RLS, policies, functions, triggers, views, sequences and grants, in an order
 * a person can read (and, for most schemas, replay). Not a pg_dump: no data, no ownership changes,
 * no dependency sorting beyond this fixed order.
 */
import type { SchemaSnapshot } from "./schema-snapshot";

const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);
const rel = (schema: string, name: string) => `${ident(schema)}.${ident(name)}`;
const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
const semi = (s: string) => (s.trimEnd().endsWith(";") ? s.trimEnd() : `${s.trimEnd()};`);

export function snapshotAsSql(s: SchemaSnapshot, header: string[] = []): string {
  const out: string[] = [...header.map((h) => `-- ${h}`), ""];
  const section = (title: string) => out.push("", `-- ${title}`);

  section("Schemas and extensions");
  for (const e of s.schemas) out.push(`CREATE SCHEMA IF NOT EXISTS ${ident(e.name)};`);
  for (const e of s.extensions) out.push(`CREATE EXTENSION IF NOT EXISTS ${ident(e.name)} WITH SCHEMA ${ident(e.schema)} VERSION ${literal(e.version)};`);

  if (s.types.length) section("Types");
  for (const t of s.types) {
    if (t.kind === "enum") out.push(`CREATE TYPE ${rel(t.schema, t.name)} AS ENUM (${(t.labels ?? []).map(literal).join(", ")});`);
    else if (t.kind === "domain") out.push(`CREATE DOMAIN ${rel(t.schema, t.name)} AS ${t.baseType ?? "text"};`);
    else out.push(`-- ${t.kind} type ${rel(t.schema, t.name)}`);
  }

  if (s.sequences.length) section("Sequences");
  for (const q of s.sequences) out.push(`CREATE SEQUENCE ${rel(q.schema, q.name)} AS ${q.dataType};${q.ownedBy ? ` -- owned by ${q.ownedBy}` : ""}`);

  section("Tables");
  for (const t of s.tables) {
    const columns = s.columns.filter((c) => c.schema === t.schema && c.table === t.name).sort((a, b) => a.position - b.position);
    const constraints = s.constraints.filter((c) => c.schema === t.schema && c.table === t.name && c.type !== "trigger");
    const lines = [
      ...columns.map((c) => {
        const generated = c.generated ? ` GENERATED ALWAYS AS (${c.default}) ${c.generated === "stored" ? "STORED" : "VIRTUAL"}` : "";
        const identity = c.identity ? ` GENERATED ${c.identity === "always" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY` : "";
        const def = !c.generated && !c.identity && c.default ? ` DEFAULT ${c.default}` : "";
        return `  ${ident(c.name)} ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ""}${generated}${identity}${def}${c.notNull ? " NOT NULL" : ""}`;
      }),
      ...constraints.map((c) => `  CONSTRAINT ${ident(c.name)} ${c.definition}`),
    ];
    out.push("", `CREATE TABLE ${rel(t.schema, t.name)} (`, lines.join(",\n"), `)${t.kind === "partitioned_table" ? " -- partitioned" : ""};`);
    if (t.rlsEnabled) out.push(`ALTER TABLE ${rel(t.schema, t.name)} ENABLE ROW LEVEL SECURITY;`);
    if (t.rlsForced) out.push(`ALTER TABLE ${rel(t.schema, t.name)} FORCE ROW LEVEL SECURITY;`);
  }

  const indexes = s.indexes.filter((i) => !i.constraint);
  if (indexes.length) section("Indexes");
  for (const i of indexes) out.push(`${semi(i.definition)}${i.valid ? "" : " -- INVALID (a failed CREATE INDEX CONCURRENTLY)"}`);

  if (s.functions.length) section("Functions");
  for (const f of s.functions) out.push("", f.definition ? semi(f.definition) : `-- ${f.kind} ${rel(f.schema, f.name)}(${f.identityArguments}): no definition printable`);

  if (s.triggers.length) section("Triggers");
  for (const tr of s.triggers) {
    out.push(semi(tr.definition));
    if (tr.enabled === "disabled") out.push(`ALTER TABLE ${rel(tr.schema, tr.table)} DISABLE TRIGGER ${ident(tr.name)};`);
  }

  if (s.policies.length) section("Row level security policies");
  for (const p of s.policies) {
    out.push(
      `CREATE POLICY ${ident(p.name)} ON ${rel(p.schema, p.table)} AS ${p.permissive ? "PERMISSIVE" : "RESTRICTIVE"} FOR ${p.command} TO ${p.roles.map((r) => (r === "public" ? "PUBLIC" : ident(r))).join(", ")}${p.using ? ` USING (${p.using})` : ""}${p.withCheck ? ` WITH CHECK (${p.withCheck})` : ""};`,
    );
  }

  if (s.views.length) section("Views");
  for (const v of s.views) out.push(`CREATE ${v.materialized ? "MATERIALIZED VIEW" : "VIEW"} ${rel(v.schema, v.name)} AS`, semi(v.definition));

  if (s.privileges.length) section("Privileges");
  for (const g of s.privileges) {
    const target = g.objectType === "schema" ? `SCHEMA ${ident(g.name)}` : g.objectType === "function" ? `FUNCTION ${ident(g.schema)}.${g.name}` : `${g.objectType === "sequence" ? "SEQUENCE " : ""}${rel(g.schema, g.name)}`;
    out.push(`GRANT ${g.privilege} ON ${target} TO ${g.grantee === "PUBLIC" ? "PUBLIC" : ident(g.grantee)}${g.grantable ? " WITH GRANT OPTION" : ""};`);
  }
  return out.join("\n") + "\n";
}
