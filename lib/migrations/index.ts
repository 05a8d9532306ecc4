/**
 * The migration files as the console understands them: journal, drizzle-compatible checksums,
 * statements split and analyzed with PostgreSQL's own parser. Importable from server code, the CLI
 * and tests alike (deliberately not "server-only").
 */
export { loadCatalog, analyzeSql, drizzleChecksum } from "./load";
export { analyzeStatement } from "./analyze";
export { BREAKPOINT, ensureParser } from "./parser";
export { CatalogError, SqlSyntaxError, type CatalogErrorCode, type SqlSyntaxErrorDetails } from "./errors";
export { isTransactionControl, LOCK_LEVELS, lockRank, strongest, type LockLevel } from "./facts";
export type * from "./types";
