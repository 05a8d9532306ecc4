import { auditExportInput, exportAuditEvents } from "@/lib/audit/query";
import { guardedDownload } from "@/app/_server/handlers";
import { runtime } from "@/app/_server/runtime";

export const dynamic = "force-dynamic";

/** Audit export for auditors: the filtered events and, in JSON, the chain verification. */
export const GET = guardedDownload({ permission: "audit:export", input: auditExportInput }, async (input, { actor, store }) =>
  exportAuditEvents(store.db, actor, input, runtime().config.timeZone),
);
