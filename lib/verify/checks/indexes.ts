/** Group 6: declared indexes exist and are usable, no invalid index anywhere, unique identifiers stay unique. */
import { defineCheck, passOver, fail, listSome, pass, plural, section, sqlArray, sqlList } from "./util";

const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export const indexesDeclared = defineCheck({
  id: "indexes.declared",
  group: "indexes",
  title: "Every index declared in db/schema exists as declared (method, columns, partial), valid and ready",
  severity: "medium",
  fix: "Re-run migration 0008 (CREATE INDEX CONCURRENTLY IF NOT EXISTS); drop an invalid or different index with DROP INDEX CONCURRENTLY first.",
  reads: ["indexes"],
  run({ catalog, expectations }) {
    const facts = section(catalog, "indexes");
    const rows: { index: string; table: string; problems: string[] }[] = [];
    let declared = 0;
    for (const t of expectations.tables) {
      for (const want of t.indexDetails) {
        declared++;
        const found = facts.find((i) => i.table === t.qualifiedName && i.name === want.name);
        const problems: string[] = [];
        if (!found) problems.push("missing");
        else {
          if (!found.valid) problems.push("invalid");
          if (!found.ready) problems.push("not ready");
          if (found.method !== want.method) problems.push(`${found.method}, expected ${want.method}`);
          if (found.unique !== want.unique) problems.push(want.unique ? "not unique" : "unique, expected not");
          if (!same(found.columns, want.columns)) {
            const show = (cols: (string | null)[]) => cols.map((c) => c ?? "(expression)").join(", ");
            problems.push(`on (${show(found.columns)}), expected (${show(want.columns)})`);
          }
          if (found.partial !== want.partial) problems.push(want.partial ? "not partial, expected a WHERE clause" : "partial, expected none");
        }
        if (problems.length) rows.push({ index: `${t.schema}.${want.name}`, table: t.qualifiedName, problems });
      }
    }
    const sql = `SELECT n.nspname || '.' || ic.relname AS index, i.indrelid::regclass AS table, i.indisvalid, i.indisready,
  pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname || '.' || ic.relname = ANY (${sqlArray(expectations.tables.flatMap((t) => t.indexDetails.map((d) => `${t.schema}.${d.name}`)))})
ORDER BY 2, 1;`;
    return rows.length === 0
      ? passOver(declared, `All ${declared} declared indexes exist as declared, valid and ready.`, "db/schema declares no index.", sql)
      : fail(
          `${plural(rows.length, "declared index", "declared indexes")} missing or different: ${listSome(rows.map((r) => `${r.index} (${r.problems.join("; ")})`))}.`,
          rows.map((r) => `index ${r.index} (${r.problems.join("; ")})`),
          sql,
          rows,
        );
  },
});

export const indexesNoInvalid = defineCheck({
  id: "indexes.no-invalid",
  group: "indexes",
  title: "No invalid or unready index in public, lgpd or audit (a failed concurrent build still slows every write)",
  severity: "medium",
  fix: "DROP INDEX CONCURRENTLY the invalid index, fix the cause (duplicates, a lock timeout), then build it again CONCURRENTLY.",
  reads: ["indexes"],
  run({ catalog, expectations }) {
    const broken = section(catalog, "indexes").filter((i) => !i.valid || !i.ready);
    const schemaOf = (table: string) => table.slice(0, table.indexOf("."));
    const label = (i: (typeof broken)[number]) => `index ${schemaOf(i.table)}.${i.name} (${!i.valid ? "invalid" : "not ready"})`;
    const sql = `SELECT i.indexrelid::regclass AS index, i.indrelid::regclass AS table, i.indisvalid, i.indisready, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ${sqlList(expectations.schemas)} AND NOT (i.indisvalid AND i.indisready);`;
    return broken.length === 0
      ? pass(`No invalid or unready index in ${expectations.schemas.join(", ")}.`, sql)
      : fail(
          `${plural(broken.length, "index", "indexes")} left broken, probably by a failed CREATE INDEX CONCURRENTLY: ${listSome(broken.map(label))}.`,
          broken.map(label),
          sql,
          broken.map((i) => ({ index: `${schemaOf(i.table)}.${i.name}`, table: i.table, valid: i.valid, ready: i.ready, unique: i.unique })),
        );
  },
});

export const uniqueIdentifiers = defineCheck({
  id: "indexes.unique-identifiers",
  group: "indexes",
  title: "Declared unique constraints hold (CPF, CNS, consent hash, session token, CNPJ, ...), each on its columns with a valid index",
  severity: "high",
  fix: "Re-create the unique constraint from db/schema with a migration; first resolve the duplicates a missing constraint let in.",
  reads: ["constraints"],
  run({ catalog, expectations }) {
    const facts = section(catalog, "constraints");
    const rows: { constraint: string; problem: string }[] = [];
    let declared = 0;
    for (const t of expectations.tables) {
      for (const want of t.uniqueDetails) {
        declared++;
        const found = facts.find((c) => c.table === t.qualifiedName && c.name === want.name);
        const name = `${want.name} on ${t.qualifiedName}`;
        if (!found || found.type !== "unique") rows.push({ constraint: name, problem: `missing (UNIQUE (${want.columns.join(", ")}))` });
        else if (!same([...found.columns].sort(), [...want.columns].sort())) {
          rows.push({ constraint: name, problem: `on (${found.columns.join(", ")}), expected (${want.columns.join(", ")})` });
        } else if (found.indexUsable !== true) rows.push({ constraint: name, problem: "its index is invalid" });
      }
    }
    const names = expectations.tables.flatMap((t) => t.uniqueDetails.map((u) => u.name));
    const sql = `SELECT conrelid::regclass AS table, conname, pg_get_constraintdef(oid) AS definition
FROM pg_constraint WHERE contype = 'u' AND conname = ANY (${sqlArray(names)}) ORDER BY 1, 2;`;
    const columns = expectations.tables.flatMap((t) => t.uniqueDetails.map((u) => `${t.name}.${u.columns.join("+")}`));
    return rows.length === 0
      ? pass(`All ${declared} declared unique constraints hold: ${listSome(columns, 8)}.`, sql)
      : fail(
          `${plural(rows.length, "unique constraint")} missing or wrong: ${listSome(rows.map((r) => `${r.constraint} (${r.problem})`))}.`,
          rows.map((r) => `constraint ${r.constraint}`),
          sql,
          rows,
        );
  },
});
