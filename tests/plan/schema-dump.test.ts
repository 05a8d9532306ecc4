import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCatalog } from "../../lib/catalog";
import { applyMigrations } from "../../lib/executor";
import { dumpSchema } from "../../lib/plan/schema-dump";
import { freshDatabase, hasServer, type TestDatabase } from "../support/databases";

const dbs: TestDatabase[] = [];
afterAll(async () => Promise.all(dbs.map((d) => d.drop())));

async function migrated(server: 15 | 18) {
  const db = await freshDatabase({ server, prefix: "dump" });
  dbs.push(db);
  await applyMigrations({ url: db.url, catalog: await loadCatalog(path.resolve(import.meta.dirname, "../../db/migrations")), actor: "test" });
  return db;
}

describe("pg_dump before an apply", () => {
  it.runIf(hasServer(15))("dumps a PostgreSQL 15 target's schema with the system's pg_dump", async () => {
    const dump = await dumpSchema((await migrated(15)).url);
    expect(dump, dump.ok ? "" : dump.reason).toMatchObject({ ok: true, tool: expect.stringMatching(/pg_dump \(1[5-9]\)$/) });
    const sql = dump.ok ? dump.sql : "";
    expect(sql).toContain("CREATE TABLE public.patients");
    expect(sql).toMatch(/ALTER TABLE (ONLY )?public\.patients FORCE ROW LEVEL SECURITY/);
    expect(sql).not.toMatch(/INSERT INTO|COPY public\./);
  });

  it("dumps a PostgreSQL 18 target when a pg_dump 18+ is installed, and otherwise says why, without the password", async () => {
    const db = await migrated(18);
    const dump = await dumpSchema(db.url);
    if (installedPgDumpMajors().some((m) => m >= 18)) {
      expect(dump, dump.ok ? "" : dump.reason).toMatchObject({ ok: true });
      expect(dump.ok ? dump.sql : "").toContain("CREATE TABLE public.patients");
    } else {
      expect(dump).toEqual({ ok: false, reason: "No pg_dump 18 or newer is installed; the catalog snapshot stands in for it." });
    }
    expect(JSON.stringify(dump)).not.toContain(new URL(db.url).password);
  });
});

/** Read here independently of lib/plan/schema-dump: Debian's versioned binaries and PATH's pg_dump. */
function installedPgDumpMajors(): number[] {
  const binaries = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin/pg_dump`) : [];
  const majors: number[] = [];
  for (const binary of [...binaries, "pg_dump"]) {
    try {
      const out = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 5_000, stdio: ["ignore", "pipe", "ignore"] });
      const m = /(\d+)(?:\.\d+)?/.exec(out);
      if (m) majors.push(Number(m[1]));
    } catch {
      // not installed
    }
  }
  return majors;
}
