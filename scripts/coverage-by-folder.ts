/**
 * `npm run test:coverage`'s table: line and branch coverage per folder of lib/, app/ and cli/,
 * from Vitest's V8 coverage summary (json-summary). Folders are lib/<module>, app/<area>, cli.
 */
import fs from "node:fs";
import path from "node:path";

interface Counts {
  total: number;
  covered: number;
}
type Summary = Record<string, { lines: Counts; branches: Counts }>;

const file = process.argv[2] ?? ".data/coverage/coverage-summary.json";
const summary = JSON.parse(fs.readFileSync(file, "utf8")) as Summary;
const root = process.cwd();

function folderOf(absolute: string): string {
  const parts = path.relative(root, absolute).split(path.sep);
  if (parts[0] === "cli") return "cli";
  if (parts[0] === "app") {
    // Route groups such as "(console)" are not folders a reader looks for: name the area inside.
    const inner = parts.slice(1).filter((p) => !/^\(.*\)$/.test(p));
    return inner.length > 1 ? `app/${inner[0]}` : "app";
  }
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const folders = new Map<string, { lines: Counts; branches: Counts; files: number }>();
for (const [name, s] of Object.entries(summary)) {
  if (name === "total") continue;
  const key = folderOf(name);
  const f = folders.get(key) ?? { lines: { total: 0, covered: 0 }, branches: { total: 0, covered: 0 }, files: 0 };
  f.lines.total += s.lines.total;
  f.lines.covered += s.lines.covered;
  f.branches.total += s.branches.total;
  f.branches.covered += s.branches.covered;
  f.files += 1;
  folders.set(key, f);
}

const pct = (c: Counts) => (c.total === 0 ? "   -  " : `${((100 * c.covered) / c.total).toFixed(1).padStart(5)}%`);
const rows = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b));
const width = Math.max(...rows.map(([k]) => k.length), "folder".length);
const line = (cells: string[]) => `${cells[0]!.padEnd(width)}  ${cells.slice(1).map((c) => c.padStart(14)).join("  ")}`;
console.log(line(["folder", "files", "lines", "branches"]));
for (const [key, f] of rows) console.log(line([key, String(f.files), `${pct(f.lines)} of ${f.lines.total}`, `${pct(f.branches)} of ${f.branches.total}`]));
const total = summary.total!;
console.log(line(["all", String(rows.reduce((n, [, f]) => n + f.files, 0)), `${pct(total.lines)} of ${total.lines.total}`, `${pct(total.branches)} of ${total.branches.total}`]));
