import type { Node } from "libpg-query";
import type { LockLevel } from "./facts";

export type { LockLevel } from "./facts";
/** A node of PostgreSQL's raw parse tree, as libpg-query returns it (`{ CreateStmt: {...} }`). */
export type AstNode = Node;

/** A relation named by a statement. Unqualified names resolve to `public` (the search_path is not known here). */
export interface TableRef {
  schema: string;
  name: string;
}

export interface RelationLock {
  relation: TableRef;
  level: LockLevel;
  /** The relation is an index, not a table. */
  isIndex?: boolean;
}

export type ColumnAction =
  | "add"
  | "drop"
  | "alter-type"
  | "set-default"
  | "drop-default"
  | "set-not-null"
  | "drop-not-null"
  | "rename"
  | "update"
  | "alter";

export interface ColumnChange {
  table: TableRef;
  name: string;
  action: ColumnAction;
  /** For "rename". */
  newName?: string;
  /** For "add" and "alter-type": the type as written, e.g. "varchar(14)". */
  type?: string;
}

export type RlsMarker =
  | { action: "enable" | "disable" | "force" | "no-force"; table: TableRef }
  | {
      action: "create-policy" | "alter-policy" | "drop-policy" | "rename-policy";
      table: TableRef;
      policy: string;
      /** For "rename-policy". */
      newName?: string;
    };

export interface ConcurrentIndex {
  schema: string;
  table: string;
  /** null when the statement leaves the name to PostgreSQL (then no validity check is possible by name). */
  name: string | null;
  ifNotExists: boolean;
}

export interface StatementAnalysis {
  /** Parse node type, e.g. "CreateStmt", "IndexStmt", "AlterTableStmt". */
  kind: string;
  /** One line for people, e.g. "CREATE INDEX CONCURRENTLY patients_cpf_idx ON public.patients". */
  summary: string;
  /** False when PostgreSQL refuses to run it inside a transaction block; the executor runs it in autocommit. */
  transactional: boolean;
  /** Why it must run outside a transaction, when it must. */
  nonTransactionalReason: string | null;
  /** Caveats worth showing next to the statement (e.g. ALTER TYPE ... ADD VALUE). */
  notes: string[];
  tables: TableRef[];
  columns: ColumnChange[];
  /** Strongest lock mode the statement takes on an existing table or index; null when it locks none. */
  lockLevel: LockLevel | null;
  /** Lock per relation the statement names (created relations excluded). */
  locks: RelationLock[];
  destructive: boolean;
  destructiveReason: string | null;
  concurrentIndex?: ConcurrentIndex;
  rls: RlsMarker[];
}

export interface Statement {
  /** 0-based position among the script's statements. */
  index: number;
  /** 0-based `--> statement-breakpoint` chunk the statement came from. */
  chunk: number;
  /** The statement text as written, without its terminating semicolon. */
  sql: string;
  /** 1-based line and column (UTF-16 code units) of the statement's first character in the file. */
  line: number;
  column: number;
  /** Offset of the first character in the file text (UTF-16 code units). */
  offset: number;
  analysis: StatementAnalysis;
  /** The raw parse tree node of this statement, for lint rules. */
  ast: AstNode;
}

/** One SQL file (an up or a down script). */
export interface SqlScript {
  file: string;
  /** The whole file text. */
  sql: string;
  /** sha256 hex of the file text, as drizzle computes it for `__drizzle_migrations.hash`. */
  checksum: string;
  statements: Statement[];
}

export interface Migration extends SqlScript {
  idx: number;
  tag: string;
  /** Same as tag: the id the console uses everywhere. */
  id: string;
  /** Journal `when` (ms since epoch); drizzle stores it as `created_at`. */
  when: number;
  /** Journal entry fields, kept for drizzle compatibility. */
  version: string;
  breakpoints: boolean;
  /** The rollback script `NNNN_tag.down.sql`, or null when there is none. */
  down: SqlScript | null;
}

export interface JournalEntry {
  idx: number;
  version: string;
  when: number;
  tag: string;
  breakpoints: boolean;
}

export interface Journal {
  version: string;
  dialect: string;
  entries: JournalEntry[];
}

export type CatalogWarningCode = "when-not-increasing" | "empty-migration";

/** Something legal but suspicious; the catalog still loads. */
export interface CatalogWarning {
  code: CatalogWarningCode;
  tag: string;
  message: string;
}

export interface Catalog {
  /** Absolute path of the migrations folder. */
  dir: string;
  journal: Journal;
  /** Sorted by journal idx. */
  migrations: Migration[];
  /** The migration with the highest idx, or null for an empty journal. */
  latest: Migration | null;
  byTag(tag: string): Migration | undefined;
  warnings: CatalogWarning[];
}
