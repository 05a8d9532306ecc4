import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, hasServer, type TestDatabase } from "./databases";

describe.each([18, 15] as const)("PostgreSQL %i test server", (server) => {
  let db: TestDatabase;
  beforeAll(async () => {
    if (hasServer(server)) db = await freshDatabase({ server });
  });
  afterAll(async () => db?.drop());

  it.runIf(hasServer(server))("answers with its own major version", async () => {
    const [row] = await db.sql<{ v: string }[]>`select current_setting('server_version_num') as v`;
    expect(Math.floor(Number(row!.v) / 10000)).toBe(server);
  });
});
