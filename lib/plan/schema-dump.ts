/**
 * `pg_dump --schema-only` of a target before an apply, when a pg_dump able to read that server is
 * installed (its major version must be at least the server's). The catalog snapshot is always taken
 * too; the dump is what a person restores from.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { connect, redactSecrets } from "../targets/connect";

const run = promisify(execFile);

export type SchemaDump = { ok: true; tool: string; sql: string } | { ok: false; reason: string };

async function majorOf(binary: string): Promise<number | null> {
  try {
    const { stdout } = await run(binary, ["--version"], { timeout: 5_000 });
    const match = /(\d+)(?:\.\d+)?/.exec(stdout);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Installed pg_dump binaries, newest first: Debian's versioned ones, then whatever PATH has. */
async function candidates(): Promise<{ binary: string; major: number }[]> {
  const found: { binary: string; major: number }[] = [];
  const debian = "/usr/lib/postgresql";
  if (fs.existsSync(debian)) {
    for (const version of fs.readdirSync(debian)) {
      const binary = path.join(debian, version, "bin/pg_dump");
      const major = fs.existsSync(binary) ? await majorOf(binary) : null;
      if (major) found.push({ binary, major });
    }
  }
  const onPath = await majorOf("pg_dump");
  if (onPath) found.push({ binary: "pg_dump", major: onPath });
  return found.sort((a, b) => b.major - a.major);
}

export async function dumpSchema(url: string): Promise<SchemaDump> {
  const sql = connect(url, { application: "migration-console schema dump" });
  let serverMajor: number;
  try {
    const [row] = await sql<{ v: string }[]>`select current_setting('server_version_num') as v`;
    serverMajor = Math.floor(Number(row!.v) / 10000);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const tool = (await candidates()).find((c) => c.major >= serverMajor);
  if (!tool) return { ok: false, reason: `No pg_dump ${serverMajor} or newer is installed; the catalog snapshot stands in for it.` };
  // The password travels in the child's environment, never on its command line.
  const target = new URL(url);
  const password = decodeURIComponent(target.password);
  target.password = "";
  try {
    const { stdout } = await run(tool.binary, ["--schema-only", "--no-password", `--dbname=${target.toString()}`], {
      env: { ...process.env, PGPASSWORD: password },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: true, tool: `${tool.binary} (${tool.major})`, sql: stdout };
  } catch (e) {
    const message = ((e as { stderr?: string }).stderr || (e as Error).message).split("\n")[0]!;
    return { ok: false, reason: `pg_dump failed: ${redactSecrets(message)}` };
  }
}
