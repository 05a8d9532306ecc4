/**
 * What each check evidences, in one table: the compliance page reads it both ways (check → controls,
 * and requirement → checks → evidence).
 */
import type { ControlRef, Framework } from "./types";

export interface ControlDefinition extends ControlRef {
  /** `LGPD Art. 46` */
  key: string;
  title: string;
}

const control = (framework: Framework, ref: string, title: string): ControlDefinition => ({
  framework,
  ref,
  key: `${framework} ${ref}`,
  title,
});

export const CONTROLS = {
  lgpd7: control("LGPD", "Art. 7", "Legal basis for processing personal data, consent among them, and its proof"),
  lgpd11: control("LGPD", "Art. 11", "Sensitive (health) data: specific consent or the health-protection basis, and its protection"),
  lgpd18: control("LGPD", "Art. 18", "Data subject rights: access, correction, anonymisation, deletion, portability, consent revocation"),
  lgpd37: control("LGPD", "Art. 37", "Controller keeps records of the processing operations it carries out"),
  lgpd46: control("LGPD", "Art. 46", "Security measures against unauthorised access and unlawful alteration or loss"),
  cfm2314: control("CFM", "Resolução 2314/2022", "Telemedicine: identified professional (CRM/UF), ICP-Brasil signature, record integrity"),
  anvisa: control("ANVISA", "record keeping", "Health records kept complete, unaltered and retrievable for the retention period"),
  ngs2Access: control("NGS2", "access control", "SBIS/CFM NGS2: authorised access only, least privilege"),
  ngs2Audit: control("NGS2", "audit trail", "SBIS/CFM NGS2: tamper-evident audit trail of access and changes"),
  ngs2Integrity: control("NGS2", "integrity", "SBIS/CFM NGS2: integrity of records and of their proofs"),
  ngs2Certificate: control("NGS2", "ICP-Brasil certificate", "SBIS/CFM NGS2: professionals authenticate and sign with ICP-Brasil certificates"),
} as const;

export type ControlId = keyof typeof CONTROLS;

/** The one table: check id → the controls it evidences. */
export const CHECK_CONTROLS: Record<string, readonly ControlId[]> = {
  "server.version": ["lgpd46"],
  "schemas.present": ["lgpd46", "lgpd37"],
  "extensions.installed": ["lgpd7", "lgpd46"],
  "tables.present": ["lgpd37", "anvisa", "cfm2314"],
  "columns.types": ["lgpd37", "lgpd18", "anvisa", "cfm2314"],
  "constraints.declared": ["anvisa", "lgpd46", "ngs2Integrity"],
  "rls.enabled": ["lgpd46", "lgpd11", "ngs2Access"],
  "rls.forced": ["lgpd46", "lgpd11", "ngs2Access"],
  "policies.context-function": ["lgpd46", "ngs2Access"],
  "policies.coverage": ["lgpd46", "lgpd11", "ngs2Access"],
  "policies.using": ["lgpd46", "lgpd11", "ngs2Access"],
  "policies.with-check": ["lgpd46", "lgpd11", "ngs2Access", "ngs2Integrity"],
  "append-only.no-update-delete": ["lgpd37", "anvisa", "cfm2314", "ngs2Audit", "ngs2Integrity"],
  "isolation.behavioural": ["lgpd46", "lgpd11", "ngs2Access"],
  "roles.no-bypass": ["lgpd46", "ngs2Access"],
  "roles.no-table-ownership": ["lgpd46", "ngs2Access"],
  "indexes.declared": ["anvisa", "lgpd18"],
  "indexes.no-invalid": ["anvisa", "lgpd18"],
  "indexes.unique-identifiers": ["lgpd18", "anvisa", "cfm2314", "ngs2Integrity"],
  "consent.trigger": ["lgpd7", "lgpd11", "ngs2Integrity"],
  "consent.hashes": ["lgpd7", "lgpd11", "lgpd37", "ngs2Integrity"],
  "retention.audit-7-years": ["lgpd37", "anvisa", "cfm2314", "ngs2Audit"],
  "retention.anonymisation-overdue": ["lgpd18"],
  "telemedicine.active-sessions": ["cfm2314", "ngs2Certificate", "lgpd11"],
};

export function controlsOf(checkId: string): ControlRef[] {
  const ids = CHECK_CONTROLS[checkId];
  if (!ids) throw new Error(`lib/verify/controls.ts maps no controls for check ${checkId}`);
  return ids.map((id) => ({ framework: CONTROLS[id].framework, ref: CONTROLS[id].ref }));
}
