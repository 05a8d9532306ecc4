/**
 * What a deployment changes in the schema: the before/after catalog snapshots compared entry by
 * entry (structured, for the UI and for rules) and as a readable unified text diff.
 */
import { createTwoFilesPatch } from "diff";
import { SNAPSHOT_KEYS, snapshotEntryKey, type SchemaSnapshot, type SnapshotSection } from "../introspect/schema-snapshot";

export interface SchemaChange {
  section: SnapshotSection;
  change: "added" | "removed" | "changed";
  /** The entry's key, e.g. `public/patients/cpf`. */
  key: string;
  /** Field names that differ, for "changed". */
  fields: string[];
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export interface SchemaDiff {
  changes: SchemaChange[];
  /** Unified diff of the two snapshots rendered as text, one line per object. */
  text: string;
  counts: Record<SchemaChange["change"], number>;
}

const SECTIONS = Object.keys(SNAPSHOT_KEYS) as SnapshotSection[];

/** `ignoreFields`: e.g. ["owner"] when the two databases belong to different roles by design. */
export function diffSnapshots(before: SchemaSnapshot, after: SchemaSnapshot, options: { ignoreFields?: string[] } = {}): SchemaDiff {
  const ignored = new Set(options.ignoreFields ?? []);
  const changes: SchemaChange[] = [];
  for (const section of SECTIONS) {
    const index = (entries: SchemaSnapshot[SnapshotSection]) =>
      new Map((entries as unknown as Record<string, unknown>[]).map((e) => [snapshotEntryKey(section, e as never), e]));
    const b = index(before[section]);
    const a = index(after[section]);
    for (const [key, entry] of b) {
      const next = a.get(key);
      if (!next) changes.push({ section, change: "removed", key, fields: [], before: entry, after: null });
      else {
        const fields = Object.keys({ ...entry, ...next }).filter((f) => !ignored.has(f) && JSON.stringify(entry[f]) !== JSON.stringify(next[f]));
        if (fields.length > 0) changes.push({ section, change: "changed", key, fields, before: entry, after: next });
      }
    }
    for (const [key, entry] of a) if (!b.has(key)) changes.push({ section, change: "added", key, fields: [], before: null, after: entry });
  }
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const c of changes) counts[c.change]++;
  const text = createTwoFilesPatch("before", "after", renderSnapshot(before), renderSnapshot(after), "", "", { context: 2 });
  return { changes, text: text.split("\n").slice(2).join("\n"), counts };
}

/** One readable line per object, grouped by section: what a reviewer reads in the text diff. */
export function renderSnapshot(s: SchemaSnapshot): string {
  const lines: string[] = [];
  const rel = (schema: string, name: string) => `${schema}.${name}`;
  for (const e of s.extensions) lines.push(`extension ${e.name} ${e.version}`);
  for (const e of s.schemas) lines.push(`schema ${e.name}`);
  for (const t of s.types) lines.push(`type ${rel(t.schema, t.name)} ${t.kind}${t.labels ? ` (${t.labels.join(", ")})` : ""}`);
  for (const t of s.tables) {
    lines.push(`table ${rel(t.schema, t.name)}${t.rlsEnabled ? " RLS enabled" : " RLS disabled"}${t.rlsForced ? ", forced" : ""}`);
    for (const c of s.columns.filter((c) => c.schema === t.schema && c.table === t.name)) {
      lines.push(`  column ${c.name} ${c.type}${c.notNull ? " not null" : ""}${c.default ? ` default ${c.default}` : ""}`);
    }
    for (const c of s.constraints.filter((c) => c.schema === t.schema && c.table === t.name)) lines.push(`  constraint ${c.name} ${c.definition}`);
    for (const i of s.indexes.filter((i) => i.schema === t.schema && i.table === t.name)) {
      lines.push(`  index ${i.definition}${i.valid ? "" : " (INVALID)"}`);
    }
    for (const p of s.policies.filter((p) => p.schema === t.schema && p.table === t.name)) {
      lines.push(
        `  policy ${p.name} ${p.permissive ? "permissive" : "restrictive"} ${p.command} to ${p.roles.join(", ")}${p.using ? ` using ${p.using}` : ""}${p.withCheck ? ` with check ${p.withCheck}` : ""}`,
      );
    }
    for (const tr of s.triggers.filter((tr) => tr.schema === t.schema && tr.table === t.name)) lines.push(`  trigger ${tr.definition}${tr.enabled === "disabled" ? " (DISABLED)" : ""}`);
  }
  for (const f of s.functions) lines.push(`function ${rel(f.schema, f.name)}(${f.identityArguments}) ${f.securityDefiner ? "security definer " : ""}#${f.hash.slice(0, 12)}`);
  for (const v of s.views) lines.push(`${v.materialized ? "materialized view" : "view"} ${rel(v.schema, v.name)}`);
  for (const q of s.sequences) lines.push(`sequence ${rel(q.schema, q.name)}${q.ownedBy ? ` owned by ${q.ownedBy}` : ""}`);
  for (const g of s.privileges) lines.push(`grant ${g.privilege} on ${g.objectType} ${g.objectType === "schema" ? g.name : rel(g.schema, g.name)} to ${g.grantee}${g.grantable ? " with grant option" : ""}`);
  return lines.join("\n") + "\n";
}
