/**
 * Verification of a target database against db/schema and domain.md's compliance checks: catalog checks
 * (read in a fixed number of queries whatever the size of the schema), data checks, and a behavioural
 * isolation probe as the application role. See run.ts for the entry point.
 */
export { runVerification, type VerificationOptions } from "./run";
export { CHECKS, CHECK_IDS, GROUPS, checkById, checksByControl, CONTROL_CHECKS, type ControlView } from "./registry";
export { CONTROLS, CHECK_CONTROLS, controlsOf, type ControlDefinition, type ControlId } from "./controls";
export { verifyExpectations, type VerifyExpectations } from "./expectations";
export { isolationProbeScript } from "./probe";
export { CATALOG_SECTIONS, type CatalogSection } from "../introspect/verification-catalog";
export type * from "./types";
