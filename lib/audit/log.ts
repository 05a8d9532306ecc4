/**
 * The append-only, hash-chained audit log. Call `appendAuditEvent` inside the transaction of the
 * state change it records, so the change and its evidence commit or fail together.
 */
import { createHash } from "node:crypto";
import { asc, desc, sql } from "drizzle-orm";
import type { StoreExecutor } from "../store/db";
import { auditEvents, type AuditEvent } from "../store/schema";
import { canonicalJson } from "../canonical-json";

export const GENESIS_HASH = "0".repeat(64);
/** Serialises appends so each event links to the one committed before it. */
const AUDIT_CHAIN_LOCK = 7_361_204_002;

export interface AuditActor {
  id: string | null;
  email: string | null;
}

export interface NewAuditEvent {
  action: string;
  subjectType: string;
  subjectId?: string | null;
  details?: Record<string, unknown>;
}

type HashedFields = Pick<AuditEvent, "occurredAt" | "actorId" | "actorEmail" | "action" | "subjectType" | "subjectId" | "details" | "prevHash">;

export function auditEventHash(e: HashedFields): string {
  const body = canonicalJson({
    occurredAt: e.occurredAt.toISOString(),
    actorId: e.actorId,
    actorEmail: e.actorEmail,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    details: e.details,
  });
  return createHash("sha256").update(e.prevHash).update("\n").update(body).digest("hex");
}

export async function appendAuditEvent(tx: StoreExecutor, actor: AuditActor, event: NewAuditEvent): Promise<AuditEvent> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
  const [last] = await tx.select({ hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.id)).limit(1);
  const fields: HashedFields = {
    occurredAt: new Date(),
    actorId: actor.id,
    actorEmail: actor.email,
    action: event.action,
    subjectType: event.subjectType,
    subjectId: event.subjectId ?? null,
    details: event.details ?? {},
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  const [row] = await tx
    .insert(auditEvents)
    .values({ ...fields, hash: auditEventHash(fields) })
    .returning();
  return row!;
}

export type ChainVerification =
  | { ok: true; checked: number; lastHash: string }
  | { ok: false; checked: number; brokenAt: number; reason: string };

/** Recomputes every link; an event edited or removed behind the trigger's back breaks the chain. */
export async function verifyAuditChain(db: StoreExecutor): Promise<ChainVerification> {
  const rows = await db.select().from(auditEvents).orderBy(asc(auditEvents.id));
  let prev = GENESIS_HASH;
  for (const [i, row] of rows.entries()) {
    if (row.prevHash !== prev) {
      return { ok: false, checked: i, brokenAt: row.id, reason: `event ${row.id} does not link to the event before it (one was removed or reordered)` };
    }
    if (auditEventHash(row) !== row.hash) {
      return { ok: false, checked: i, brokenAt: row.id, reason: `event ${row.id} was altered after it was recorded` };
    }
    prev = row.hash;
  }
  return { ok: true, checked: rows.length, lastHash: prev };
}
