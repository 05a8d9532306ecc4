/** Reading the audit log: filtered listings and exports for auditors. */
import { and, desc, gte, ilike, lt, type SQL } from "drizzle-orm";
import { z } from "zod";
import { formatDateTime, nextDay, zonedDayStart } from "../format";
import type { StoreDb, StoreExecutor } from "../store/db";
import { appendAuditEvent, verifyAuditChain, type AuditActor } from "./log";
import { auditEvents, type AuditEvent } from "../store/schema";

export const auditFilterInput = z.object({
  action: z.string().trim().max(100).optional(),
  actor: z.string().trim().max(200).optional(),
  from: z.iso.date().optional(),
  to: z.iso.date().optional(),
});
export type AuditFilter = z.infer<typeof auditFilterInput>;

/** `from` and `to` are whole days in the console's time zone, as every page shows them. */
export async function listAuditEvents(db: StoreExecutor, filter: AuditFilter, options: { timeZone: string; limit?: number }): Promise<AuditEvent[]> {
  const { timeZone, limit = 500 } = options;
  const where: SQL[] = [];
  if (filter.action) where.push(ilike(auditEvents.action, `%${filter.action}%`));
  if (filter.actor) where.push(ilike(auditEvents.actorEmail, `%${filter.actor}%`));
  if (filter.from) where.push(gte(auditEvents.occurredAt, zonedDayStart(filter.from, timeZone)));
  if (filter.to) where.push(lt(auditEvents.occurredAt, zonedDayStart(nextDay(filter.to), timeZone)));
  return db
    .select()
    .from(auditEvents)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditEvents.id))
    .limit(limit);
}

const CSV_COLUMNS = ["id", "occurredAt", "actorEmail", "action", "subjectType", "subjectId", "details", "prevHash", "hash"] as const;

/** A spreadsheet is read by people: times in the console's format and zone, like every page. */
function csvCell(value: unknown, timeZone: string): string {
  const text = value instanceof Date ? formatDateTime(value, timeZone) : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value ?? "");
  // Quote always; a leading = + - @ would be run as a formula by spreadsheets.
  return `"${(/^[=+\-@]/.test(text) ? `'${text}` : text).replace(/"/g, '""')}"`;
}

export function auditEventsToCsv(events: AuditEvent[], timeZone: string): string {
  return [CSV_COLUMNS.join(","), ...events.map((e) => CSV_COLUMNS.map((c) => csvCell(e[c], timeZone)).join(","))].join("\r\n") + "\r\n";
}

export const auditExportInput = auditFilterInput.extend({ format: z.enum(["csv", "json"]).default("json") });

/**
 * The audit export for auditors: the filtered events (CSV, or JSON with the chain's verification), itself
 * audited. JSON keeps each instant as ISO 8601 UTC, the form the hash chain covers, so a verifier can
 * recompute the hashes from the file; it names the console's time zone beside them.
 */
export async function exportAuditEvents(db: StoreDb, actor: AuditActor, input: z.infer<typeof auditExportInput>, timeZone: string) {
  const { format, ...filter } = input;
  const events = await listAuditEvents(db, filter, { timeZone, limit: 100_000 });
  const exportedAt = new Date();
  const stamp = exportedAt.toISOString().replace(/[:.]/g, "-");
  await appendAuditEvent(db, actor, { action: "audit.exported", subjectType: "audit_log", subjectId: null, details: { format, filter, events: events.length } });
  if (format === "csv") return { body: auditEventsToCsv(events, timeZone), contentType: "text/csv; charset=utf-8", filename: `audit-${stamp}.csv` };
  const chain = await verifyAuditChain(db);
  return {
    body: JSON.stringify({ exportedAt: exportedAt.toISOString(), timeZone, filter, chain, events }, null, 2),
    contentType: "application/json",
    filename: `audit-${stamp}.json`,
  };
}
