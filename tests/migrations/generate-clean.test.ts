/**
 * The drizzle schema and the migration history agree: drizzle-kit generate, run on a temporary copy of
 * the repository's schema and migrations, finds nothing to generate. Catches a schema edit without its
 * migration, and a hand-edited migration whose snapshot drifted.
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
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "generate-clean-"));
    fs.cpSync(path.join(root, "drizzle.config.ts"), path.join(work, "drizzle.config.ts"));
    fs.cpSync(path.join(root, "db/schema"), path.join(work, "db/schema"), { recursive: true });
    fs.cpSync(path.join(root, "db/migrations"), path.join(work, "db/migrations"), { recursive: true });
    // db/schema imports the UF list from here.
    fs.cpSync(path.join(root, "lib/br"), path.join(work, "lib/br"), { recursive: true });
    fs.symlinkSync(path.join(root, "node_modules"), path.join(work, "node_modules"), "dir");
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("produces no new migration from the current schema", async () => {
    const before = listFiles(path.join(work, "db/migrations"));
    const { stdout } = await run(
      process.execPath,
      [path.join(root, "node_modules/drizzle-kit/bin.cjs"), "generate", "--name", "probe"],
      { cwd: work, timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(listFiles(path.join(work, "db/migrations"))).toEqual(before);
    expect(stdout).toContain("No schema changes");
  }, 90_000);
});
