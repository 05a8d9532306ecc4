/** The checks, in domain.md's order, and the views the compliance pages read. */
import { consentHashes, consentTrigger, auditRetention, anonymisationOverdue, telemedicineSessions } from "./checks/data";
import { indexesDeclared, indexesNoInvalid, uniqueIdentifiers } from "./checks/indexes";
import { isolationBehavioural } from "./checks/isolation";
import { appendOnly, contextFunction, policyCoverage, policyUsing, policyWithCheck, rlsEnabled, rlsForced } from "./checks/rls";
import { rolesNoBypass, rolesNoOwnership } from "./checks/roles";
import { columnsTypes, constraintsDeclared, extensionsInstalled, schemasPresent, serverVersion, tablesPresent } from "./checks/schema";
import { CHECK_CONTROLS, CONTROLS, type ControlDefinition } from "./controls";
import type { CheckDefinition, CheckGroup } from "./types";

export const GROUPS: readonly { id: CheckGroup; title: string; domainItem: number }[] = [
  { id: "schemas-extensions-version", title: "Schemas, extensions and server version", domainItem: 1 },
  { id: "tables-columns", title: "Tables, columns and types", domainItem: 2 },
  { id: "rls-enabled-forced", title: "Row level security enabled and forced", domainItem: 3 },
  { id: "tenant-policies", title: "Tenant policies", domainItem: 3 },
  { id: "append-only", title: "Append-only audit and consent records", domainItem: 3 },
  { id: "isolation", title: "Behavioural isolation", domainItem: 4 },
  { id: "roles", title: "Application roles", domainItem: 5 },
  { id: "indexes", title: "Indexes and unique identifiers", domainItem: 6 },
  { id: "consent-proof", title: "Consent proof", domainItem: 7 },
  { id: "retention", title: "Retention", domainItem: 8 },
  { id: "telemedicine", title: "Telemedicine (CFM 2314/2022)", domainItem: 9 },
];

export const CHECKS: readonly CheckDefinition[] = [
  serverVersion,
  schemasPresent,
  extensionsInstalled,
  tablesPresent,
  columnsTypes,
  constraintsDeclared,
  rlsEnabled,
  rlsForced,
  contextFunction,
  policyCoverage,
  policyUsing,
  policyWithCheck,
  appendOnly,
  isolationBehavioural,
  rolesNoBypass,
  rolesNoOwnership,
  indexesDeclared,
  indexesNoInvalid,
  uniqueIdentifiers,
  consentTrigger,
  consentHashes,
  auditRetention,
  anonymisationOverdue,
  telemedicineSessions,
];

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id);

export function checkById(id: string): CheckDefinition | undefined {
  return CHECKS.find((c) => c.id === id);
}

export interface ControlView extends ControlDefinition {
  checks: string[];
}

/** Requirement → checks, for the per-requirement view (LGPD / CFM / ANVISA / NGS2), in CONTROLS order. */
export function checksByControl(): ControlView[] {
  return Object.entries(CONTROLS).map(([id, control]) => ({
    ...control,
    checks: CHECK_IDS.filter((check) => (CHECK_CONTROLS[check] as readonly string[] | undefined)?.includes(id)),
  }));
}

/** Same, keyed by `"LGPD Art. 46"`. */
export const CONTROL_CHECKS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  checksByControl().map((c) => [c.key, c.checks]),
);
