/**
 * Backup events and sizes in words, for the run log, the CLI and the pages. Pure: safe in client code.
 */
import type { BackupEvent } from "./backup";

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function describeBackupEvent(e: BackupEvent): string {
  switch (e.type) {
    case "backup_taken":
      return `Backed up ${e.rowsRemoved ? `${e.rows} row(s) of ${e.table}` : `${e.table}.${e.columns.join(", ")} of ${e.rows} row(s)`} (${formatBytes(e.bytes)}${e.tagged ? `, tagged ${e.classes.join(", ")}` : ""}) into ${e.backupTable}${e.expiresAt ? `, kept until ${e.expiresAt.slice(0, 10)}` : ""}`;
    case "backup_verified":
      return `Backup of ${e.table} checked: ${e.rows} row(s), checksum equal on source and copy`;
    case "backup_declined":
      return `Backup declined (${e.reason}); ${e.tag} destroys without a copy: ${e.data.join("; ")}`;
    case "backup_discarded":
      return `Discarded backup ${e.backupId.slice(0, 8)} of ${e.tag}: ${e.reason}`;
    case "backup_restored":
      return `Restored ${e.rowsRemoved ? `${e.rows} row(s) of ${e.table}` : `${e.table}.${e.columns.join(", ")} in ${e.rows} row(s)`}; checksum equal to the backup${e.unmatched > 0 ? ` (${e.unmatched} row(s) of the backup no longer exist and were not put back)` : ""}`;
    case "backup_not_restored":
      return `Not restored: ${e.table}: ${e.reason}`;
  }
}
