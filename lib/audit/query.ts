/** Reading the audit log: filtered listings and exports for auditors. */
import { and, desc, gte, ilike, lte, type SQL } from "drizzle-orm";
import { z } from "zod";
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

export async function listAuditEvents(db: StoreExecutor, filter: AuditFilter, limit = 500): Promise<AuditEvent[]> {
  const where: SQL[] = [];
  if (filter.action) where.push(ilike(auditEvents.action, `%${filter.action}%`));
  if (filter.actor) where.push(ilike(auditEvents.actorEmail, `%${filter.actor}%`));
  if (filter.from) where.push(gte(auditEvents.occurredAt, new Date(`${filter.from}T00:00:00Z`)));
  if (filter.to) where.push(lte(auditEvents.occurredAt, new Date(`${filter.to}T23:59:59.999Z`)));
  return db
    .select()
    .from(auditEvents)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditEvents.id))
    .limit(limit);
}

const CSV_COLUMNS = ["id", "occurredAt", "actorEmail", "action", "subjectType", "subjectId", "details", "prevHash", "hash"] as const;

function csvCell(value: unknown): string {
  const text = value instanceof Date ? value.toISOString() : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value ?? "");
  // Quote always; a leading = + - @ would be run as a formula by spreadsheets.
  return `"${(/^[=+\-@]/.test(text) ? `'${text}` : text).replace(/"/g, '""')}"`;
}

export function auditEventsToCsv(events: AuditEvent[]): string {
  return [CSV_COLUMNS.join(","), ...events.map((e) => CSV_COLUMNS.map((c) => csvCell(e[c])).join(","))].join("\r\n") + "\r\n";
}

export const auditExportInput = auditFilterInput.extend({ format: z.enum(["csv", "json"]).default("json") });

/** The audit export for auditors: the filtered events (CSV, or JSON with the chain's verification), itself audited. */
export async function exportAuditEvents(db: StoreDb, actor: AuditActor, input: z.infer<typeof auditExportInput>) {
  const { format, ...filter } = input;
  const events = await listAuditEvents(db, filter, 100_000);
  const exportedAt = new Date();
  const stamp = exportedAt.toISOString().replace(/[:.]/g, "-");
  await appendAuditEvent(db, actor, { action: "audit.exported", subjectType: "audit_log", subjectId: null, details: { format, filter, events: events.length } });
  if (format === "csv") return { body: auditEventsToCsv(events), contentType: "text/csv; charset=utf-8", filename: `audit-${stamp}.csv` };
  const chain = await verifyAuditChain(db);
  return {
    body: JSON.stringify({ exportedAt: exportedAt.toISOString(), filter, chain, events }, null, 2),
    contentType: "application/json",
    filename: `audit-${stamp}.json`,
  };
}
