/** What the CLI tests against ad-hoc targets share: fresh databases dropped after the file, two small migrations. */
import { afterAll } from "vitest";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { removeFixtureFolders, statements } from "../executor/support";
import { CLI_RUN_MS } from "./cli-support";

/** Up to eight CLI runs per test, each bounded by CLI_RUN_MS. */
export const CLI_TIMEOUT = 8 * CLI_RUN_MS;

/** Registers the file's afterAll; `target(prefix)` is a fresh database, dropped with the fixture folders after the file. */
export function cliTargets(): { target(prefix: string): Promise<TestDatabase> } {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
    removeFixtureFolders();
  });
  return {
    target: async (prefix) => {
      const db = await freshDatabase({ prefix });
      databases.push(db);
      return db;
    },
  };
}

export const PATIENTS = { tag: "0000_patients", up: statements("CREATE TABLE patients (id int PRIMARY KEY, name text)"), down: statements("DROP TABLE patients") };
export const NOTES = { tag: "0001_notes", up: statements("CREATE TABLE notes (id int PRIMARY KEY)"), down: statements("DROP TABLE notes") };
