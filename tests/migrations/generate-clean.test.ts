/**
 * The drizzle schema and the migration history agree: drizzle-kit generate, pointed at a temporary copy of
 * db/migrations, finds nothing to generate. Catches a schema edit without its migration, and a hand-edited
 * migration whose snapshot drifted. The repository itself is never written to.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const run = promisify(execFile);

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("drizzle-kit generate", () => {
  let work: string;
  let config: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "generate-clean-"));
    fs.cpSync(path.join(root, "db/migrations"), path.join(work, "migrations"), { recursive: true });
    // The repository's config with only `out` redirected; relative, because drizzle-kit prefixes "./".
    config = path.join(work, "drizzle.config.ts");
    const out = path.relative(root, path.join(work, "migrations"));
    fs.writeFileSync(
      config,
      `import base from ${JSON.stringify(path.join(root, "drizzle.config.ts"))};\n` +
        `export default { ...base, out: ${JSON.stringify(out)} };\n`,
    );
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("produces no new migration from the current schema", async () => {
    const before = listFiles(path.join(work, "migrations"));
    const { stdout } = await run(
      process.execPath,
      [path.join(root, "node_modules/drizzle-kit/bin.cjs"), "generate", "--config", config, "--name", "probe"],
      { cwd: root, timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(listFiles(path.join(work, "migrations"))).toEqual(before);
    expect(stdout).toContain("No schema changes");
  }, 90_000);
});
