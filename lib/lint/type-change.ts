/**
 * Whether `ALTER COLUMN … TYPE` rewrites the table. PostgreSQL skips the rewrite (and keeps indexes)
 * when the old type converts to the new one without a function call (a binary-coercible cast that only
 * relaxes the type modifier), e.g. varchar(n) → text, varchar(n) → varchar(m ≥ n), numeric(p,s) →
 * numeric(q ≥ p, s), cidr → inet. Everything else, and any USING clause, rewrites under ACCESS EXCLUSIVE.
 */
import type { Node, TypeName } from "libpg-query";
import { nameParts } from "./ast";

interface ParsedType {
  base: string;
  mods: number[];
}

/** format_type's spelling (what the live snapshot holds), e.g. `character varying(50)`, `numeric(10,2)`. */
function parseCatalogType(text: string): ParsedType {
  const m = /^(.*?)(?:\(([\d,\s]+)\))?$/.exec(text.trim());
  return { base: (m?.[1] ?? text).trim(), mods: m?.[2] ? m[2].split(",").map((x) => Number(x.trim())) : [] };
}

const ALIASES: Record<string, string> = {
  varchar: "character varying",
  "character varying": "character varying",
  text: "text",
  numeric: "numeric",
  decimal: "numeric",
  varbit: "bit varying",
  "bit varying": "bit varying",
  cidr: "cidr",
  inet: "inet",
  bpchar: "character",
  char: "character",
  int4: "integer",
  int8: "bigint",
  int2: "smallint",
  timestamptz: "timestamp with time zone",
  timestamp: "timestamp without time zone",
};

/** The parse tree's type (`pg_catalog.varchar` with typmods) in format_type's words. */
function parseAstType(t: TypeName): ParsedType | null {
  if ((t.arrayBounds ?? []).length > 0) return null;
  const name = (t.names ?? []).flatMap(nameParts).at(-1);
  if (!name) return null;
  // The parse tree leaves out zero values: `ival: {}` is 0.
  const mods = (t.typmods ?? []).map((m: Node) => ("A_Const" in m && m.A_Const.ival ? (m.A_Const.ival.ival ?? 0) : Number.NaN));
  if (mods.some((m) => Number.isNaN(m))) return null;
  return { base: ALIASES[name] ?? name, mods };
}

/** A declared type (ADD COLUMN, CREATE TABLE, ALTER … TYPE) in format_type's words; undefined when unsure. */
export function catalogSpelling(t: TypeName | undefined): string | undefined {
  const parsed = t ? parseAstType(t) : null;
  return parsed ? `${parsed.base}${parsed.mods.length > 0 ? `(${parsed.mods.join(",")})` : ""}` : undefined;
}

const LENGTH_TYPES = new Set(["character varying", "bit varying"]);

/** true: rewrites; false: catalog-only; null: the old type is unknown (then assume it rewrites). */
export function typeChangeRewrites(oldCatalogType: string | undefined, next: TypeName | undefined, using: Node | undefined): boolean | null {
  if (using) return true;
  if (!oldCatalogType || !next) return null;
  const from = parseCatalogType(oldCatalogType);
  const to = parseAstType(next);
  if (!to) return true;
  if (from.base === to.base && from.mods.join(",") === to.mods.join(",")) return false;
  if (LENGTH_TYPES.has(from.base) && to.base === from.base) return to.mods.length > 0 && (from.mods.length === 0 || to.mods[0]! < from.mods[0]!);
  if (from.base === "character varying" && to.base === "text") return false;
  if (from.base === "text" && to.base === "character varying") return to.mods.length > 0;
  if (from.base === "numeric" && to.base === "numeric") {
    if (to.mods.length === 0) return false;
    if (from.mods.length === 0) return true;
    const [p, s = 0] = from.mods;
    const [q, t = 0] = to.mods;
    return !(t === s && q! >= p!);
  }
  if (from.base === "cidr" && to.base === "inet") return false;
  return true;
}
