/**
 * Backup retention: every hour, whichever worker is up purges, on every configured target, the
 * backups of destroyed data whose `backupRetentionDays` ran out (personal data is not kept longer
 * than the environment's policy says), each purge an audit event on its environment.
 */
import type PgBoss from "pg-boss";
import { appendAuditEvent } from "../audit/log";
import type { EnvironmentRegistry } from "../config/environments";
import { purgeExpiredBackupsAt, type BackupRecord } from "../executor/backup";
import type { Store } from "../store/db";
import { redactSecrets } from "../connection/connect";

export const BACKUP_RETENTION_QUEUE = "backup-retention";
const RETENTION_ACTOR = { id: null, email: "retention" };

export interface RetentionDeps {
  store: Store;
  registry: EnvironmentRegistry;
}

/** One round over every configured environment; an unreachable target is tried again next round. */
export async function purgeExpiredBackupsEverywhere(deps: RetentionDeps, now: Date = new Date()): Promise<{ environment: string; purged: BackupRecord[]; error?: string }[]> {
  const out: { environment: string; purged: BackupRecord[]; error?: string }[] = [];
  for (const env of deps.registry.environments) {
    if (!env.url) continue;
    let purged: BackupRecord[];
    try {
      purged = await purgeExpiredBackupsAt(env.url, now);
    } catch (e) {
      out.push({ environment: env.name, purged: [], error: redactSecrets((e as Error).message) });
      continue;
    }
    for (const b of purged) {
      await deps.store.db.transaction((tx) =>
        appendAuditEvent(tx, RETENTION_ACTOR, {
          action: "backup.purged",
          subjectType: "environment",
          subjectId: env.name,
          details: { backupId: b.id, tag: b.tag, table: b.table, columns: b.columns, rows: b.rows, bytes: b.bytes, tagged: b.tagged, classes: b.classes, createdAt: b.createdAt, expiresAt: b.expiresAt },
        }),
      );
    }
    out.push({ environment: env.name, purged });
  }
  return out;
}

export async function startBackupRetention(boss: PgBoss, deps: RetentionDeps): Promise<{ stop(): Promise<void> }> {
  await boss.createQueue(BACKUP_RETENTION_QUEUE, { name: BACKUP_RETENTION_QUEUE, policy: "singleton" });
  await boss.schedule(BACKUP_RETENTION_QUEUE, "17 * * * *");
  await boss.work(BACKUP_RETENTION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 30 }, async () => {
    // A target that cannot be purged keeps personal data past its retention: said in the worker's log every round until it can.
    for (const r of await purgeExpiredBackupsEverywhere(deps)) {
      if (r.error) console.error(`[migration-console] backup retention could not purge expired backups on ${r.environment} (tried again next hour): ${r.error}`);
    }
  });
  return { stop: () => boss.offWork(BACKUP_RETENTION_QUEUE) };
}
