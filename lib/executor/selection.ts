/**
 * Which scripts a run executes, from the files and the target's ledger status. Pure, so the
 * executor and the planner decide identically; refusals are ExecutorErrors either can report.
 */
import { plural } from "../format";
import type { Catalog, Migration, SqlScript } from "../migrations";
import type { LedgerStatus } from "../ledger";
import { ExecutorError } from "./errors";

export interface Unit {
  migration: Migration;
  /** The up script (the migration itself) or its down script. */
  script: SqlScript;
}

export interface ApplySelection {
  to?: string | null;
  allowOutOfOrder?: boolean;
  acceptChecksums?: boolean;
  allowUnknown?: boolean;
}

export function selectForApply(catalog: Catalog, status: LedgerStatus, options: ApplySelection): Unit[] {
  if (status.problems.unknown > 0 && !options.allowUnknown) {
    throw new ExecutorError(
      "unknown_in_ledger",
      `The target's ledger holds ${plural(status.problems.unknown, "migration")} that ${status.problems.unknown === 1 ? "is" : "are"} not in these files (${status.unknown.map((u) => u.tag ?? u.hash.slice(0, 12)).join(", ")}). This checkout is probably behind the target: update it first.`,
    );
  }
  if (status.problems.checksumMismatch.length > 0 && !options.acceptChecksums) {
    throw new ExecutorError(
      "checksum_mismatch",
      `${status.problems.checksumMismatch.length === 1 ? "An applied migration file was" : "Applied migration files were"} edited since ${status.problems.checksumMismatch.length === 1 ? "it" : "they"} ran: ${status.problems.checksumMismatch.join(", ")}. Restore ${status.problems.checksumMismatch.length === 1 ? "it" : "them"}, or accept the new checksums explicitly (--accept-checksums) if the edit changes nothing in the database.`,
      { tags: status.problems.checksumMismatch },
    );
  }
  const target = options.to ? catalog.byTag(options.to) : catalog.latest;
  if (options.to && !target) throw new ExecutorError("no_such_migration", `There is no migration "${options.to}" in the files.`);
  if (!target) return [];
  const current = status.current ? catalog.byTag(status.current)! : null;
  if (current && target.idx < current.idx) {
    throw new ExecutorError("wrong_direction", `${target.tag} is older than the current version ${current.tag}: that is a rollback, not an apply.`);
  }
  const outOfOrder = status.problems.outOfOrder.filter((tag) => catalog.byTag(tag)!.idx <= target.idx);
  if (outOfOrder.length > 0 && !options.allowOutOfOrder) {
    throw new ExecutorError(
      "out_of_order",
      `${outOfOrder.length === 1 ? "Migration" : "Migrations"} ${outOfOrder.join(", ")} ${outOfOrder.length === 1 ? "was" : "were"} never applied but ${outOfOrder.length === 1 ? "is" : "are"} older than the newest applied one (drizzle-kit would silently skip ${outOfOrder.length === 1 ? "it" : "them"}). Review ${outOfOrder.length === 1 ? "it" : "them"}, then apply with --allow-out-of-order.`,
      { tags: outOfOrder },
    );
  }
  const wanted = new Set([...status.pending, ...outOfOrder]);
  return catalog.migrations.filter((m) => m.idx <= target.idx && wanted.has(m.tag)).map((m) => ({ migration: m, script: m }));
}

/** Every migration applied after `to` (all of them when null), newest first, with its down script. */
export function selectForRollback(catalog: Catalog, status: LedgerStatus, to: string | null): Unit[] {
  const target = to ? catalog.byTag(to) : null;
  if (to && !target) throw new ExecutorError("no_such_migration", `There is no migration "${to}" in the files.`);
  const applied = status.migrations.filter((s) => s.state === "applied" || s.state === "checksum_mismatch");
  const toUndo = applied.filter((s) => !target || s.idx > target.idx).reverse();
  const edited = toUndo.filter((s) => s.state === "checksum_mismatch").map((s) => s.tag);
  if (edited.length > 0) {
    throw new ExecutorError("checksum_mismatch", `Cannot roll back ${edited.join(", ")}: the file was edited since it ran, so its rollback may not match what the database holds.`, { tags: edited });
  }
  return toUndo.map((s) => {
    const migration = catalog.byTag(s.tag)!;
    if (!migration.down) throw new ExecutorError("missing_down", `${s.tag} has no rollback file (${s.tag}.down.sql).`, { tag: s.tag });
    return { migration, script: migration.down };
  });
}
