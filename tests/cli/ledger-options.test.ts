/**
 * The `apply` options that accept a ledger problem (an edited file, an out-of-order migration, ledger
 * entries these files lack), each refused without its option, as a CI pipeline runs them.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { addMigration, BASE_WHEN, migrationsFolder, statements, tableExists, truncateJournal } from "../executor/support";
import { cli } from "./cli-support";
import { CLI_TIMEOUT, cliTargets, NOTES, PATIENTS } from "./target-fixture";

const { target } = cliTargets();

describe("options that accept a ledger problem", () => {
  it("--accept-checksums records an edited file's checksum; without it the apply is refused", async () => {
    const db = await target("cli_sum");
    const dir = migrationsFolder([PATIENTS, NOTES]);
    await cli(["apply", "--database-url", db.url, "--migrations", dir, "--to", "0000_patients"]);
    fs.appendFileSync(path.join(dir, "0000_patients.sql"), "-- reviewed: comment only\n");

    const refused = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ ok: false, error: { code: "checksum_mismatch", tags: ["0000_patients"] } });
    const status = await cli(["status", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(status.json()).toMatchObject({ problems: { checksumMismatch: ["0000_patients"] }, migrations: [{ tag: "0000_patients", state: "checksum_mismatch" }, { tag: "0001_notes", state: "pending" }] });
    expect(await tableExists(db.sql, "public.notes")).toBe(false);

    const accepted = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--accept-checksums", "--json"]);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.json()).toMatchObject({ ok: true, migrations: ["0001_notes"], pending: [] });
    const after = await cli(["status", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(after.json()).toMatchObject({ problems: { checksumMismatch: [] }, migrations: [{ tag: "0000_patients", state: "applied" }, { tag: "0001_notes", state: "applied" }] });
  }, CLI_TIMEOUT);

  it("--allow-out-of-order applies a migration older than the newest applied one; without it the apply is refused", async () => {
    const db = await target("cli_ooo");
    const dir = migrationsFolder([
      { ...PATIENTS, when: BASE_WHEN },
      { ...NOTES, when: BASE_WHEN + 2000 },
    ]);
    await cli(["apply", "--database-url", db.url, "--migrations", dir]);
    addMigration(dir, { tag: "0002_late_branch", when: BASE_WHEN + 1000, up: statements("CREATE TABLE referrals (id int PRIMARY KEY)") });

    const refused = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ error: { code: "out_of_order", tags: ["0002_late_branch"] } });
    expect(await tableExists(db.sql, "public.referrals")).toBe(false);

    const allowed = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--allow-out-of-order", "--json"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.json()).toMatchObject({ migrations: ["0002_late_branch"] });
    expect(await tableExists(db.sql, "public.referrals")).toBe(true);
  }, CLI_TIMEOUT);

  it("--allow-unknown proceeds past ledger entries these files lack; without it the apply is refused", async () => {
    const db = await target("cli_unknown");
    const dir = migrationsFolder([PATIENTS, NOTES]);
    await cli(["apply", "--database-url", db.url, "--migrations", dir]);
    truncateJournal(dir, 1);
    addMigration(dir, { tag: "0001_referrals", when: BASE_WHEN + 5000, up: statements("CREATE TABLE referrals (id int PRIMARY KEY)") });

    const refused = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ error: { code: "unknown_in_ledger" } });
    const status = await cli(["status", "--database-url", db.url, "--migrations", dir, "--json"]);
    expect(status.json()).toMatchObject({ problems: { unknown: 1 }, unknown: [{ tag: "0001_notes" }] });

    const allowed = await cli(["apply", "--database-url", db.url, "--migrations", dir, "--allow-unknown", "--json"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.json()).toMatchObject({ migrations: ["0001_referrals"] });
  }, CLI_TIMEOUT);
});
