/**
 * The house, checked on the source: no import cycle between lib/ modules, the store imports nothing
 * above it, lib/ holds the domain only (no Next.js, no React), and app/ never reaches the store's
 * client itself. Read with TypeScript's own parser, so a new file is covered without listing it.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
/** None: the Next.js composition root and the react-query hooks live in app/_server and app/_queries. */
const WEB_FACES_IN_LIB: string[] = [];

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx)$/.test(e.name) && !e.name.endsWith(".d.ts"))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

function resolve(from: string, specifier: string): string | null {
  let base: string;
  if (specifier.startsWith("@/")) base = specifier.slice(2);
  else if (specifier.startsWith(".")) base = path.join(path.dirname(from), specifier);
  else return specifier; // a package
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) {
    const full = path.join(root, candidate);
    if (fs.existsSync(full) && fs.statSync(full).isFile()) return path.normalize(candidate);
  }
  return path.normalize(base);
}

function importsOf(file: string): Edge[] {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edges: Edge[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? Boolean(node.importClause?.isTypeOnly) : node.isTypeOnly;
      const to = resolve(file, node.moduleSpecifier.text);
      if (to) edges.push({ from: file, to, typeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      const to = resolve(file, node.arguments[0].text);
      if (to) edges.push({ from: file, to, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** lib/<folder> for files in a folder, lib/<name> for lib's top-level files. */
function moduleOf(file: string): string | null {
  const parts = file.split(path.sep);
  if (parts[0] !== "lib" || parts.length < 2) return null;
  return parts.length === 2 ? `lib/${parts[1]!.replace(/\.tsx?$/, "")}` : `lib/${parts[1]}`;
}

const libEdges = sourceFiles("lib").flatMap(importsOf);

describe("the house", () => {
  it("has no import cycle between lib/ modules (at run time: `import type` is erased)", () => {
    const graph = new Map<string, Set<string>>();
    for (const e of libEdges.filter((edge) => !edge.typeOnly)) {
      const a = moduleOf(e.from);
      const b = moduleOf(e.to);
      if (!a || !b || a === b) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
    }
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const walk = (node: string, trail: string[]) => {
      if (state.get(node) === "done") return;
      if (state.get(node) === "visiting") {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(" → "));
        return;
      }
      state.set(node, "visiting");
      for (const next of graph.get(node) ?? []) walk(next, [...trail, node]);
      state.set(node, "done");
    };
    for (const node of graph.keys()) walk(node, []);
    expect(cycles).toEqual([]);
  });

  it("lib/store imports nothing above it but the one way to connect (types of what its JSON columns hold aside)", () => {
    const upward = libEdges.filter((e) => moduleOf(e.from) === "lib/store" && !e.typeOnly && moduleOf(e.to) && !["lib/store", "lib/errors", "lib/connection"].includes(moduleOf(e.to)!));
    expect(upward.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it("lib/connection, below everything that connects, imports nothing else of lib/", () => {
    const upward = libEdges.filter((e) => moduleOf(e.from) === "lib/connection" && moduleOf(e.to) && moduleOf(e.to) !== "lib/connection");
    expect(upward.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it("lib/ holds the domain only: no Next.js or React outside the web faces that move to app/", () => {
    const web = libEdges.filter((e) => !WEB_FACES_IN_LIB.includes(moduleOf(e.from)!) && /^(next|next-auth\/react|react|react-dom|@tanstack\/react-query)(\/|$)/.test(e.to));
    expect(web.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
    const faces = libEdges.filter((e) => /^(app|cli|components|scripts)\//.test(e.to));
    expect(faces.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it("app/ and components/ never reach the store's client or SQL themselves: pages read through lib/", () => {
    // app/_server is the composition root: it opens the store for a request; pages and handlers go through it.
    const edges = [...sourceFiles("app"), ...sourceFiles("components")].filter((f) => !f.startsWith(path.normalize("app/_server/"))).flatMap(importsOf);
    const direct = edges.filter((e) => !e.typeOnly && (/^(drizzle-orm|postgres|pg)(\/|$)/.test(e.to) || e.to.startsWith(path.normalize("lib/store/db"))));
    expect(direct.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });
});
