/**
 * The evidence bundle an auditor takes away: for one environment and period, the verification runs
 * and their results, the deployments with who approved exactly which plan, and the audit chain's
 * verification; as JSON and as a printable HTML report, with a sha256 manifest over every file.
 */
import { createHash } from "node:crypto";
import { and, asc, eq, gte, inArray, lte } from "drizzle-orm";
import { strToU8, zipSync } from "fflate";
import { z } from "zod";
import { appendAuditEvent, verifyAuditChain, type AuditActor } from "../audit/log";
import type { EnvironmentRegistry } from "../config/environments";
import { AppError } from "../errors";
import { readBackups, type BackupRecord } from "../executor/backup";
import { describeConnectionError } from "../connection/errors";
import type { Store } from "../store/db";
import { approvals, auditEvents, deployments, environments, runs, users } from "../store/schema";
import { formatDateTime, zonedDayStart, nextDay } from "../format";
import { evidenceSigningKey, signBundle, SIGNATURE_FILE } from "./evidence-signing";
import { GROUPS } from "./registry";
import { reportOf, snapshotHistory } from "./snapshots";

/** An environment and a period of inclusive calendar days (UTC). */
export const evidenceRequestInput = z.object({ environment: z.string().min(1), from: z.iso.date(), to: z.iso.date() });
export type EvidenceRequest = z.infer<typeof evidenceRequestInput>;

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

const escapeHtml = (value: unknown) =>
  String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

export interface EvidenceOptions {
  /** The console's time zone: the period's days and every time in the report are in it. */
  timeZone: string;
  /** The configured signing key (PEM), or null to use the one kept in the store. */
  signingKeyPem: string | null;
}

export async function buildEvidenceBundle(store: Store, registry: EnvironmentRegistry, request: EvidenceRequest, actor: AuditActor, options: EvidenceOptions) {
  const env = registry.byName(request.environment);
  if (!env) throw new AppError("not_found", `There is no environment "${request.environment}".`);
  const from = zonedDayStart(request.from, options.timeZone);
  const to = new Date(zonedDayStart(nextDay(request.to), options.timeZone).getTime() - 1);
  if (!(from <= to)) throw new AppError("invalid_input", "The period's start must not be after its end.");

  const snapshots = (await snapshotHistory(store, env.name, { from, to })).reverse();
  const [envRow] = await store.db.select().from(environments).where(eq(environments.name, env.name));
  const deploymentRows = envRow
    ? await store.db
        .select({ d: deployments, author: users.email })
        .from(deployments)
        .innerJoin(users, eq(users.id, deployments.createdBy))
        .where(and(eq(deployments.environmentId, envRow.id), gte(deployments.createdAt, from), lte(deployments.createdAt, to)))
        .orderBy(asc(deployments.number))
    : [];
  const ids = deploymentRows.map((r) => r.d.id);
  const approvalRows = ids.length
    ? await store.db
        .select({ deploymentId: approvals.deploymentId, kind: approvals.kind, planHash: approvals.planHash, planRevision: approvals.planRevision, at: approvals.createdAt, by: users.email, comment: approvals.comment })
        .from(approvals)
        .innerJoin(users, eq(users.id, approvals.userId))
        .where(inArray(approvals.deploymentId, ids))
        .orderBy(asc(approvals.createdAt))
    : [];
  const runRows = ids.length ? await store.db.select().from(runs).where(inArray(runs.deploymentId, ids)).orderBy(asc(runs.startedAt)) : [];
  const auditRows = await store.db
    .select()
    .from(auditEvents)
    .where(and(gte(auditEvents.occurredAt, from), lte(auditEvents.occurredAt, to)))
    .orderBy(asc(auditEvents.id));
  const relevantAudit = auditRows.filter((e) => (e.subjectType === "deployment" && ids.includes(e.subjectId ?? "")) || (e.subjectType === "environment" && e.subjectId === env.name));
  const chain = await verifyAuditChain(store.db);

  const verification = snapshots.map((s) => {
    const stored = reportOf(s);
    return {
      id: s.id,
      at: s.createdAt.toISOString(),
      trigger: s.trigger,
      outcome: s.outcome,
      targetVersion: s.targetVersion,
      ...("report" in stored
        ? { results: stored.report.results.map((r) => ({ checkId: r.checkId, group: r.group, status: r.status, summary: r.summary, controls: r.controls, evidence: r.evidence })) }
        : { unreachable: stored.unreachable }),
    };
  });
  const deploymentsJson = deploymentRows.map(({ d, author }) => ({
    id: d.id,
    number: d.number,
    kind: d.kind,
    state: d.state,
    verification: d.verification,
    from: d.plan.from,
    to: d.plan.to,
    migrations: d.plan.migrations.map((m) => ({ tag: m.tag, checksum: m.checksum })),
    planHash: d.planHash,
    planRevision: d.planRevision,
    findings: d.plan.findings.map((f) => ({ rule: f.rule, severity: f.severity, tag: f.tag, line: f.line, message: f.message })),
    createdBy: author,
    createdAt: d.createdAt.toISOString(),
    approvals: approvalRows.filter((a) => a.deploymentId === d.id).map((a) => ({ ...a, at: a.at.toISOString(), validForFinalPlan: a.planRevision === d.planRevision && a.planHash === d.planHash })),
    runs: runRows.filter((r) => r.deploymentId === d.id),
  }));
  // An unreadable ledger is said so in the bundle: an empty list would read as "no backup in the period".
  const backupsRead: { events: BackupLine[]; unreachable?: string } = env.url
    ? await readBackups(env.url).then(
        (records) => ({ events: backupLines(records, from, to) }),
        (e: unknown) => ({ events: [], unreachable: `The target's backup ledger could not be read: ${describeConnectionError(e)}` }),
      )
    : { events: [] };
  const backupEvents = backupsRead.events;
  const generatedAt = new Date().toISOString();
  const header = { environment: env.name, period: { from: request.from, to: request.to }, timeZone: options.timeZone, generatedAt, generatedBy: actor.email };

  const files: Record<string, Uint8Array> = {
    "verification.json": strToU8(JSON.stringify({ ...header, runs: verification }, null, 2)),
    "deployments.json": strToU8(JSON.stringify({ ...header, deployments: deploymentsJson }, null, 2)),
    "audit.json": strToU8(JSON.stringify({ ...header, chain, events: relevantAudit }, null, 2)),
    "backups.json": strToU8(JSON.stringify({ ...header, source: "the target's migration_console.backups ledger", ...backupsRead }, null, 2)),
    "report.html": strToU8(renderReport({ ...header, label: env.label, verification, deployments: deploymentsJson, chain, backups: backupEvents, backupsUnreachable: backupsRead.unreachable ?? null }, options.timeZone)),
  };
  const manifest = {
    ...header,
    files: Object.entries(files).map(([name, data]) => ({ name, bytes: data.length, sha256: sha256(data) })),
  };
  files["manifest.json"] = strToU8(JSON.stringify(manifest, null, 2));
  // sha256sum -c SHA256SUMS checks every file, the manifest included; the signature covers them all.
  files["SHA256SUMS"] = strToU8(Object.entries(files).map(([name, data]) => `${sha256(data)}  ${name}`).join("\n") + "\n");
  const key = await evidenceSigningKey(store.db, options.signingKeyPem);
  const signature = signBundle(key, { environment: header.environment, period: header.period, generatedAt, generatedBy: header.generatedBy }, files);
  files[SIGNATURE_FILE] = strToU8(JSON.stringify(signature, null, 2));

  const zip = zipSync(files, { level: 6 });
  const manifestSha256 = sha256(files["manifest.json"]!);
  await appendAuditEvent(store.db, actor, {
    action: "evidence.exported",
    subjectType: "environment",
    subjectId: env.name,
    details: { period: header.period, bundleSha256: sha256(zip), manifestSha256, keyId: key.keyId, files: manifest.files.length },
  });
  return { filename: `evidence-${env.name}-${request.from}-to-${request.to}.zip`, zip, manifest, manifestSha256, keyId: key.keyId, publicKeyPem: key.publicKeyPem };
}

type BackupLine = { at: string; event: "backup" | "check" | "declined" | "restore" | "purge" | "discard"; backupId: string; tag: string; data: string; rows: number | null; bytes: number | null; tagged: boolean; classes: string[]; detail: string };

/** One line per backup, check, decline, restore and purge in the period, from the target's own ledger. */
function backupLines(records: BackupRecord[], from: Date, to: Date): BackupLine[] {
  const lines: BackupLine[] = [];
  for (const b of records) {
    const base = { backupId: b.id, tag: b.tag, data: b.rowsRemoved ? `${b.table} (rows)` : `${b.table}.${b.columns.join(", ")}`, rows: b.rows, bytes: b.bytes, tagged: b.tagged, classes: b.classes };
    const push = (at: Date | null, event: BackupLine["event"], detail: string) => {
      if (at && at >= from && at <= to) lines.push({ ...base, at: at.toISOString(), event, detail });
    };
    if (b.state === "declined") push(b.createdAt, "declined", b.reason ?? "declined");
    else {
      push(b.createdAt, "backup", `by ${b.actor} (${b.direction === "up" ? "apply" : "rollback"}), kept until ${b.expiresAt?.toISOString() ?? "removed by hand"}`);
      push(b.createdAt, "check", `row count and checksum equal on source and copy (${b.checksum})`);
    }
    push(b.restoredAt, "restore", `${b.restoredRows} row(s) put back by run ${b.restoredRunId}, checksum equal`);
    push(b.purgedAt, "purge", "retention period over: the copy was dropped");
    if (b.state === "discarded") push(b.createdAt, "discard", b.reason ?? "discarded");
  }
  return lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

function renderReport(data: {
  environment: string;
  label: string;
  period: { from: string; to: string };
  generatedAt: string;
  generatedBy: string | null;
  verification: { at: string; trigger: string; outcome: string; targetVersion: string | null; results?: { checkId: string; group: string; status: string; summary: string; controls: readonly { framework: string; ref: string }[] }[]; unreachable?: string }[];
  deployments: { number: number; kind: string; state: string; from: string | null; to: string | null; planHash: string; createdBy: string; createdAt: string; approvals: { kind: string; by: string; at: string; validForFinalPlan: boolean }[] }[];
  chain: Awaited<ReturnType<typeof verifyAuditChain>>;
  backups: BackupLine[];
  backupsUnreachable: string | null;
}, timeZone: string): string {
  const latest = data.verification.at(-1);
  const at = (iso: string) => formatDateTime(iso, timeZone);
  const row = (cells: unknown[]) => `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`;
  const groupTitle = Object.fromEntries(GROUPS.map((g) => [g.id, g.title]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Compliance evidence: ${escapeHtml(data.label)} ${escapeHtml(data.period.from)} to ${escapeHtml(data.period.to)}</title>
<style>
body{font:12px/1.45 system-ui,sans-serif;color:#111;margin:2cm}h1{font-size:20px}h2{font-size:15px;margin-top:24px;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
.pass{color:#065f46}.fail,.failed{color:#b91c1c;font-weight:600}.error{color:#9a3412}.warn{color:#92400e}
@media print{body{margin:1cm}h2{break-after:avoid}tr{break-inside:avoid}}
</style></head><body>
<h1>Compliance evidence: ${escapeHtml(data.label)}</h1>
<p>Period ${escapeHtml(data.period.from)} to ${escapeHtml(data.period.to)}, days in ${escapeHtml(timeZone)}; every time below is in that zone. Generated ${escapeHtml(at(data.generatedAt))} by ${escapeHtml(data.generatedBy)}.
Every file of this bundle is listed with its SHA-256 in manifest.json and SHA256SUMS, and signature.json signs that list with the console's Ed25519 key (its public half is on the Compliance page): check it with <code>npx migration-console evidence verify</code>.</p>
<h2>Audit trail</h2>
<p class="${data.chain.ok ? "pass" : "fail"}">${data.chain.ok ? `The audit chain verifies: ${data.chain.checked} events, each linked to its predecessor by SHA-256.` : `The audit chain is BROKEN: ${escapeHtml(data.chain.reason)}.`}</p>
<h2>Verification runs in the period (${data.verification.length})</h2>
<table><tr><th>When</th><th>Trigger</th><th>Version</th><th>Outcome</th></tr>
${data.verification.map((v) => `<tr><td>${escapeHtml(at(v.at))}</td><td>${escapeHtml(v.trigger)}</td><td>${escapeHtml(v.targetVersion)}</td><td class="${escapeHtml(v.outcome)}">${escapeHtml(v.outcome)}${v.unreachable ? `: ${escapeHtml(v.unreachable)}` : ""}</td></tr>`).join("\n")}
</table>
<h2>Checks at the latest run${latest ? ` (${escapeHtml(at(latest.at))})` : ""}</h2>
${
  latest?.results
    ? `<table><tr><th>Group</th><th>Check</th><th>Evidences</th><th>Status</th><th>Result</th></tr>
${latest.results.map((r) => `<tr><td>${escapeHtml(groupTitle[r.group] ?? r.group)}</td><td>${escapeHtml(r.checkId)}</td><td>${escapeHtml(r.controls.map((c) => `${c.framework} ${c.ref}`).join(", "))}</td><td class="${escapeHtml(r.status)}">${escapeHtml(r.status)}</td><td>${escapeHtml(r.summary)}</td></tr>`).join("\n")}
</table>`
    : "<p>No verification ran in this period.</p>"
}
<h2>Deployments and approvals (${data.deployments.length})</h2>
<table><tr><th>#</th><th>Change</th><th>State</th><th>Opened by</th><th>Approvals (plan hash)</th></tr>
${data.deployments.map((d) => row([d.number, `${d.kind} ${d.from ?? "empty"} → ${d.to ?? "empty"}`, d.state, `${d.createdBy} ${at(d.createdAt)}`, d.approvals.map((a) => `${a.kind === "release_approval" ? "approved" : "signed off"} by ${a.by} at ${at(a.at)}${a.validForFinalPlan ? "" : " (void: plan changed)"}`).join("; ") + ` [${d.planHash.slice(0, 16)}]`])).join("\n")}
</table>
<h2>Backups of destroyed data (${data.backups.length} events)</h2>
${data.backupsUnreachable ? `<p class="fail">${escapeHtml(data.backupsUnreachable)}</p>` : ""}
<table><tr><th>When</th><th>Event</th><th>Data</th><th>Migration</th><th>Rows</th><th>Tagged</th><th>Detail</th></tr>
${data.backups.map((b) => row([at(b.at), b.event, b.data, b.tag, b.rows ?? "", b.tagged ? b.classes.join(", ") : "no", b.detail])).join("\n")}
</table>
</body></html>
`;
}
