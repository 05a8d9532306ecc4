/**
 * The one reader of a PostgreSQL catalog: one query per kind of object (queries.ts), whose rows both the
 * schema snapshot that plans, drift and diffs compare (schema-snapshot.ts) and the facts verification
 * checks (verification-catalog.ts) are derived from, over the same transaction, print settings,
 * extension filter and catalog codes (read.ts).
 */
export * from "./read";
export { DEFAULT_SNAPSHOT_SCHEMAS, schemaFingerprint, snapshotEntryKey, snapshotSchema, SNAPSHOT_KEYS, type SchemaSnapshot, type SnapshotSection } from "./schema-snapshot";
export { CATALOG_SECTIONS, readVerificationCatalog, type CatalogSection, type VerificationCatalog } from "./verification-catalog";
