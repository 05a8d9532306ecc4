/** Group 4: behavioural isolation, as the application role, in a transaction that is always rolled back. */
import { isolationProbeScript, type ProbeEntry, type ProbeOutput } from "../probe";
import { defineCheck, error, fail, listSome, pass, plural } from "./util";

type Verdict = "ok" | "leak" | "inconclusive";

const RLS_REFUSED = "42501";

/** What one probe result means; the reason is shown when it is not ok. */
function judge(e: ProbeEntry): { verdict: Verdict; reason: string } {
  const rows = e.rows ?? 0;
  const failed = e.sqlstate !== undefined;
  const refusedBy = `refused (${e.sqlstate}: ${e.message})`;
  switch (e.probe) {
    case "no_context_visible":
      return rows > 0 ? { verdict: "leak", reason: `${rows}+ rows visible without a clinic context` } : { verdict: "ok", reason: "" };
    case "empty_context_visible":
      return rows > 0 ? { verdict: "leak", reason: `${rows}+ rows visible with an empty clinic context` } : { verdict: "ok", reason: "" };
    case "own_visible":
      return rows > 0 ? { verdict: "ok", reason: "" } : { verdict: "leak", reason: "clinic A cannot see its own row: the SELECT policy does not match the tenant" };
    case "other_visible":
      return rows > 0 ? { verdict: "leak", reason: `${rows}+ rows of other clinics visible to clinic A` } : { verdict: "ok", reason: "" };
    // As clinic C, which owns no row: any row reached belongs to another clinic.
    case "update_other":
      if (e.sqlstate?.startsWith("23")) return { verdict: "leak", reason: `an UPDATE reached other clinics' rows (stopped only by ${e.sqlstate}: ${e.message})` };
      if (failed) return e.sqlstate === RLS_REFUSED ? { verdict: "ok", reason: "" } : { verdict: "inconclusive", reason: refusedBy };
      return rows > 0 ? { verdict: "leak", reason: `an UPDATE reached ${rows} row(s) of other clinics` } : { verdict: "ok", reason: "" };
    case "delete_other":
      if (e.sqlstate?.startsWith("23")) return { verdict: "leak", reason: `a DELETE reached other clinics' rows (stopped only by ${e.sqlstate}: ${e.message})` };
      if (failed) return e.sqlstate === RLS_REFUSED ? { verdict: "ok", reason: "" } : { verdict: "inconclusive", reason: refusedBy };
      return rows > 0 ? { verdict: "leak", reason: `a DELETE reached ${rows} row(s) of other clinics` } : { verdict: "ok", reason: "" };
    case "insert_other":
      // RLS WITH CHECK runs before constraints: a constraint error means RLS accepted the row.
      if (e.sqlstate?.startsWith("23")) return { verdict: "leak", reason: `an insert for clinic B passed RLS (stopped only by ${e.sqlstate}: ${e.message})` };
      if (failed) return e.sqlstate === RLS_REFUSED ? { verdict: "ok", reason: "" } : { verdict: "inconclusive", reason: refusedBy };
      return { verdict: "leak", reason: "clinic A inserted a row for clinic B" };
    case "move_own":
      // Refused by WITH CHECK, by the missing privilege, or first by a BEFORE UPDATE trigger (the consent
      // guard): the row does not move. No row updatable at all (append-only tables) moves nothing either.
      if (failed) return { verdict: "ok", reason: "" };
      return rows > 0 ? { verdict: "leak", reason: `clinic A moved ${rows} row(s) to clinic B` } : { verdict: "ok", reason: "" };
  }
}

export const isolationBehavioural = defineCheck({
  id: "isolation.behavioural",
  group: "isolation",
  title: "As app_user with clinic A's context, no row of clinic B is visible or writable and no row moves to clinic B; with no context, no row at all",
  severity: "critical",
  fix: "Fix the table's RLS (enabled, forced) and tenant policies, see the failing catalog checks; the evidence script reproduces the probe and rolls back.",
  reads: [],
  async run({ sql, expectations }) {
    const { body, script } = isolationProbeScript(expectations);
    const conn = await sql.reserve();
    let output: ProbeOutput;
    try {
      await conn`begin`;
      try {
        const results = (await conn.unsafe(body)) as unknown as { result?: string }[][];
        const last = results[results.length - 1];
        const raw = JSON.parse(last?.[0]?.result ?? "null") as { role: string; bypass: boolean; entries: ProbeEntry[] } | null;
        if (!raw) return error("The isolation probe returned nothing.", script);
        output = { role: raw.role, roleBypassesRls: raw.bypass, entries: raw.entries };
      } finally {
        await conn`rollback`;
      }
    } catch (e) {
      const err = e as { message?: string; code?: string };
      return error(`The isolation probe could not run as ${expectations.appRole}: ${err.message ?? String(e)}${err.code ? ` (${err.code})` : ""}.`, script);
    } finally {
      conn.release();
    }

    if (output.role !== expectations.appRole) {
      return error(`The probe ran as ${output.role}, not ${expectations.appRole}: its results would say nothing.`, script);
    }
    if (output.roleBypassesRls) {
      return fail(`${expectations.appRole} is a superuser or has BYPASSRLS: every clinic sees every row.`, [`role ${expectations.appRole}`], script);
    }
    const judged = output.entries.map((e) => ({ ...e, ...judge(e) }));
    const leaks = judged.filter((e) => e.verdict === "leak");
    const unclear = judged.filter((e) => e.verdict === "inconclusive");
    const tables = [...new Set(output.entries.map((e) => e.table))];
    const rows = [...leaks, ...unclear].map(({ table, probe, verdict, reason }) => ({ table, probe, verdict, reason }));
    if (leaks.length) {
      const leakTables = [...new Set(leaks.map((e) => e.table))];
      return fail(
        `Tenant isolation is broken on ${plural(leakTables.length, "table")}: ${listSome(leaks.map((e) => `${e.table}: ${e.reason}`))}.`,
        leakTables,
        script,
        rows,
      );
    }
    if (unclear.length) {
      return error(
        `The probe could not conclude on ${plural(unclear.length, "attempt")}: ${listSome(unclear.map((e) => `${e.table} ${e.probe}: ${e.reason}`))}.`,
        script,
      );
    }
    return pass(
      `As ${expectations.appRole}, on ${plural(tables.length, "tenant table")}: no row visible without a context, clinic A sees only its own rows, and every read, update, delete, insert or move across clinics was refused (rolled back).`,
      script,
    );
  },
});
