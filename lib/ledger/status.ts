/**
 * What is applied on a target, compared with the migration files. Fixes drizzle's two blind spots:
 * it decides "pending" by `created_at` alone, so it never notices an edited applied file, and it
 * silently skips a migration merged later with an older `when`.
 */
import type { Catalog, Migration } from "../catalog";
import type { DrizzleLedgerRow, HistoryRow } from "./tables";

export type MigrationState = "applied" | "pending" | "checksum_mismatch" | "out_of_order";

export interface MigrationStatus {
  tag: string;
  idx: number;
  when: number;
  state: MigrationState;
  /** sha256 of the file now. */
  checksum: string;
  /** The hash recorded when it was applied, when applied. */
  appliedHash: string | null;
  /** From the console's history; null when applied by another tool (drizzle-kit). */
  appliedAt: Date | null;
  appliedBy: string | null;
  durationMs: number | null;
  runId: string | null;
  explanation: string;
}

export interface UnknownLedgerEntry {
  hash: string;
  createdAt: number;
  tag: string | null;
  explanation: string;
}

export interface LedgerStatus {
  migrations: MigrationStatus[];
  /** In the target's ledger, not in the files (the checkout is behind, or a file was removed). */
  unknown: UnknownLedgerEntry[];
  /** The newest applied migration, by journal order. */
  current: string | null;
  pending: string[];
  problems: { checksumMismatch: string[]; outOfOrder: string[]; unknown: number };
}

const EXPLAIN: Record<MigrationState, string> = {
  applied: "Applied; the file is unchanged since.",
  pending: "Not applied yet.",
  checksum_mismatch:
    "Applied, but the file has been edited since: the database holds what the old file did. Restore the file, or accept the new checksum explicitly if the edit is cosmetic.",
  out_of_order:
    "Never applied, yet older than a migration that was: it was merged after a newer one ran. drizzle-kit would skip it silently; apply it explicitly (--allow-out-of-order) after checking it does not conflict.",
};

export function computeStatus(catalog: Catalog, ledger: { drizzle: DrizzleLedgerRow[]; history: HistoryRow[] }): LedgerStatus {
  const byCreatedAt = new Map(ledger.drizzle.map((r) => [r.createdAt, r]));
  const latestApplied = ledger.drizzle.reduce((max, r) => Math.max(max, r.createdAt), -Infinity);
  // The apply behind each ledger row: the latest "up" not undone by a later "down". Keyed by `when` only:
  // an accepted checksum changes the ledger's hash, not who applied the migration and when.
  const lastUp = new Map<number, HistoryRow>();
  for (const h of ledger.history) {
    if (h.direction === "up") lastUp.set(h.createdAt, h);
    else lastUp.delete(h.createdAt);
  }

  const migrations = catalog.migrations.map((m: Migration): MigrationStatus => {
    const row = byCreatedAt.get(m.when);
    const state: MigrationState = row
      ? row.hash === m.checksum
        ? "applied"
        : "checksum_mismatch"
      : m.when <= latestApplied
        ? "out_of_order"
        : "pending";
    const history = row ? lastUp.get(row.createdAt) : undefined;
    return {
      tag: m.tag,
      idx: m.idx,
      when: m.when,
      state,
      checksum: m.checksum,
      appliedHash: row?.hash ?? null,
      appliedAt: history?.finishedAt ?? null,
      appliedBy: history?.actor ?? null,
      durationMs: history?.durationMs ?? null,
      runId: history?.runId ?? null,
      explanation: EXPLAIN[state],
    };
  });

  const known = new Set(catalog.migrations.map((m) => m.when));
  const tagByHistory = new Map(ledger.history.map((h) => [h.createdAt, h.tag]));
  const unknown = ledger.drizzle
    .filter((r) => !known.has(r.createdAt))
    .map((r) => ({
      hash: r.hash,
      createdAt: r.createdAt,
      tag: tagByHistory.get(r.createdAt) ?? null,
      explanation: "Recorded as applied on the target but absent from the migration files: this checkout is behind the target, or a file was deleted.",
    }));

  const appliedTags = migrations.filter((m) => m.state === "applied" || m.state === "checksum_mismatch");
  return {
    migrations,
    unknown,
    current: appliedTags.at(-1)?.tag ?? null,
    pending: migrations.filter((m) => m.state === "pending").map((m) => m.tag),
    problems: {
      checksumMismatch: migrations.filter((m) => m.state === "checksum_mismatch").map((m) => m.tag),
      outOfOrder: migrations.filter((m) => m.state === "out_of_order").map((m) => m.tag),
      unknown: unknown.length,
    },
  };
}
