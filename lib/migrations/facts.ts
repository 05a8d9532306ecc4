/**
 * What PostgreSQL (15+) does when it runs a statement: which table lock mode it takes and whether
 * it may run inside a transaction block. The one place these facts live; analyze.ts applies them to
 * the relations a statement names. Sources: the "Explicit Locking" chapter, the Notes of each
 * command's reference page, and AlterTableGetLockLevel in src/backend/commands/tablecmds.c.
 * tests/catalog/locks.test.ts checks them against pg_locks on real servers.
 */
import type { AlterTableCmd, AlterTableType, ConstrType, DefElem, Node, ObjectType } from "libpg-query";

/** PostgreSQL's table lock modes, weakest first. */
export const LOCK_LEVELS = [
  "ACCESS SHARE",
  "ROW SHARE",
  "ROW EXCLUSIVE",
  "SHARE UPDATE EXCLUSIVE",
  "SHARE",
  "SHARE ROW EXCLUSIVE",
  "EXCLUSIVE",
  "ACCESS EXCLUSIVE",
] as const;
export type LockLevel = (typeof LOCK_LEVELS)[number];

export function lockRank(level: LockLevel): number {
  return LOCK_LEVELS.indexOf(level);
}

export function strongest(levels: Iterable<LockLevel | null | undefined>): LockLevel | null {
  let best: LockLevel | null = null;
  for (const level of levels) if (level && (best === null || lockRank(level) > lockRank(best))) best = level;
  return best;
}

/** The numeric mode of `LOCK TABLE ... IN <mode> MODE` in the parse tree (lockdefs.h). */
export function lockModeFromNumber(mode: number): LockLevel | null {
  return LOCK_LEVELS[mode - 1] ?? null;
}

// ---------------------------------------------------------------------------------------------
// ALTER TABLE (also ALTER INDEX / VIEW / MATERIALIZED VIEW: the same subcommands and rules)

/** Subcommands that take less than ACCESS EXCLUSIVE; every other subcommand takes ACCESS EXCLUSIVE. */
const ALTER_TABLE_WEAKER_LOCKS: Partial<Record<AlterTableType, LockLevel>> = {
  // Affect write operations only.
  AT_EnableTrig: "SHARE ROW EXCLUSIVE",
  AT_EnableAlwaysTrig: "SHARE ROW EXCLUSIVE",
  AT_EnableReplicaTrig: "SHARE ROW EXCLUSIVE",
  AT_EnableTrigAll: "SHARE ROW EXCLUSIVE",
  AT_EnableTrigUser: "SHARE ROW EXCLUSIVE",
  AT_DisableTrig: "SHARE ROW EXCLUSIVE",
  AT_DisableTrigAll: "SHARE ROW EXCLUSIVE",
  AT_DisableTrigUser: "SHARE ROW EXCLUSIVE",
  // Planner statistics and maintenance settings.
  AT_SetStatistics: "SHARE UPDATE EXCLUSIVE",
  AT_SetOptions: "SHARE UPDATE EXCLUSIVE",
  AT_ResetOptions: "SHARE UPDATE EXCLUSIVE",
  AT_ClusterOn: "SHARE UPDATE EXCLUSIVE",
  AT_DropCluster: "SHARE UPDATE EXCLUSIVE",
  AT_ValidateConstraint: "SHARE UPDATE EXCLUSIVE",
  AT_AttachPartition: "SHARE UPDATE EXCLUSIVE",
  AT_DetachPartitionFinalize: "SHARE UPDATE EXCLUSIVE",
};

const ADD_CONSTRAINT_LOCK: Partial<Record<ConstrType, LockLevel>> = {
  // Validating a foreign key only needs to keep rows from changing under it, on both tables.
  CONSTR_FOREIGN: "SHARE ROW EXCLUSIVE",
};

/**
 * Storage parameters (SET/RESET (...)) that need ACCESS EXCLUSIVE. All other known table and index
 * parameters (fillfactor, autovacuum_*, toast.*, parallel_workers, ...) take SHARE UPDATE EXCLUSIVE.
 */
const RELOPTIONS_ACCESS_EXCLUSIVE = new Set([
  "user_catalog_table",
  "fastupdate",
  "buffering",
  "security_barrier",
  "security_invoker",
  "check_option",
]);
const RELOPTIONS_SHARE_UPDATE_EXCLUSIVE = new Set([
  "fillfactor",
  "toast_tuple_target",
  "parallel_workers",
  "vacuum_index_cleanup",
  "vacuum_truncate",
  "vacuum_max_eager_freeze_failure_rate",
  "log_autovacuum_min_duration",
  "autosummarize",
  "pages_per_range",
  "deduplicate_items",
  "gin_pending_list_limit",
]);

function reloptionLock(option: DefElem): LockLevel {
  const name = option.defname ?? "";
  if (RELOPTIONS_ACCESS_EXCLUSIVE.has(name)) return "ACCESS EXCLUSIVE";
  if (RELOPTIONS_SHARE_UPDATE_EXCLUSIVE.has(name) || name.startsWith("autovacuum_")) return "SHARE UPDATE EXCLUSIVE";
  return "ACCESS EXCLUSIVE"; // unknown to us: assume the worst
}

/** Lock taken on the altered relation by one ALTER TABLE subcommand. */
export function alterTableCmdLock(cmd: AlterTableCmd): LockLevel {
  const subtype = cmd.subtype;
  if (!subtype) return "ACCESS EXCLUSIVE";
  if (subtype === "AT_AddConstraint") {
    const contype = cmd.def && "Constraint" in cmd.def ? cmd.def.Constraint.contype : undefined;
    return (contype && ADD_CONSTRAINT_LOCK[contype]) || "ACCESS EXCLUSIVE";
  }
  if (subtype === "AT_DetachPartition") {
    const concurrent = cmd.def && "PartitionCmd" in cmd.def && cmd.def.PartitionCmd.concurrent;
    return concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE";
  }
  if (subtype === "AT_SetRelOptions" || subtype === "AT_ResetRelOptions") {
    const options = cmd.def && "List" in cmd.def ? (cmd.def.List.items ?? []) : [];
    return strongest(options.map((o) => ("DefElem" in o ? reloptionLock(o.DefElem) : "ACCESS EXCLUSIVE"))) ?? "SHARE UPDATE EXCLUSIVE";
  }
  return ALTER_TABLE_WEAKER_LOCKS[subtype] ?? "ACCESS EXCLUSIVE";
}

/** INHERIT / NO INHERIT: the lock on the parent named (the altered table's is alterTableCmdLock). */
export function inheritParentLock(cmd: AlterTableCmd): LockLevel {
  return cmd.subtype === "AT_AddInherit" ? "SHARE UPDATE EXCLUSIVE" : "ACCESS SHARE";
}

/** Lock on the partition itself for ATTACH / DETACH PARTITION (the parent's is alterTableCmdLock). */
export function partitionLock(cmd: AlterTableCmd): LockLevel {
  if (cmd.subtype === "AT_DetachPartition" || cmd.subtype === "AT_DetachPartitionFinalize") {
    return alterTableCmdLock(cmd);
  }
  return "ACCESS EXCLUSIVE";
}

// ---------------------------------------------------------------------------------------------
// Other statements

export const INDEX_LOCK = { plain: "SHARE", concurrent: "SHARE UPDATE EXCLUSIVE" } as const satisfies Record<
  string,
  LockLevel
>;

/** DROP of a relation: on the relation (and, for an index, its table). */
export function dropRelationLock(concurrent: boolean): LockLevel {
  return concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE";
}

/** DROP TABLE / INDEX / VIEW ... : relations dropped by name. */
export const DROP_RELATION_TYPES: ReadonlySet<ObjectType> = new Set<ObjectType>([
  "OBJECT_TABLE",
  "OBJECT_INDEX",
  "OBJECT_VIEW",
  "OBJECT_MATVIEW",
  "OBJECT_SEQUENCE",
  "OBJECT_FOREIGN_TABLE",
]);

/** DROP POLICY / TRIGGER / RULE ... ON table: ACCESS EXCLUSIVE on that table. */
export const DROP_ON_TABLE_TYPES: ReadonlySet<ObjectType> = new Set<ObjectType>([
  "OBJECT_POLICY",
  "OBJECT_TRIGGER",
  "OBJECT_RULE",
]);
export const DROP_ON_TABLE_LOCK: LockLevel = "ACCESS EXCLUSIVE";

/** ALTER ... RENAME: the lock on the renamed relation (or the table owning the renamed thing). */
export function renameLock(renameType: ObjectType | undefined): LockLevel | null {
  switch (renameType) {
    case "OBJECT_INDEX":
      return "SHARE UPDATE EXCLUSIVE"; // since PostgreSQL 12
    case "OBJECT_TABLE":
    case "OBJECT_VIEW":
    case "OBJECT_MATVIEW":
    case "OBJECT_SEQUENCE":
    case "OBJECT_FOREIGN_TABLE":
    case "OBJECT_COLUMN":
    case "OBJECT_TABCONSTRAINT":
    case "OBJECT_TRIGGER":
    case "OBJECT_POLICY":
    case "OBJECT_RULE":
      return "ACCESS EXCLUSIVE";
    default:
      return null; // schemas, types, functions ...: no table lock
  }
}

/** COMMENT ON a relation, a column, or something defined on a table. */
export const COMMENT_LOCK: LockLevel = "SHARE UPDATE EXCLUSIVE";
export const COMMENT_ON_RELATION_TYPES: ReadonlySet<ObjectType> = new Set<ObjectType>([
  "OBJECT_TABLE",
  "OBJECT_INDEX",
  "OBJECT_VIEW",
  "OBJECT_MATVIEW",
  "OBJECT_SEQUENCE",
  "OBJECT_FOREIGN_TABLE",
]);
export const COMMENT_ON_TABLE_MEMBER_TYPES: ReadonlySet<ObjectType> = new Set<ObjectType>([
  "OBJECT_COLUMN",
  "OBJECT_POLICY",
  "OBJECT_TRIGGER",
  "OBJECT_RULE",
  "OBJECT_TABCONSTRAINT",
]);

/** Statements whose lock on their target relation does not depend on options. */
export const TARGET_LOCK: Readonly<Record<string, LockLevel>> = {
  CreateTrigStmt: "SHARE ROW EXCLUSIVE",
  CreatePolicyStmt: "ACCESS EXCLUSIVE",
  AlterPolicyStmt: "ACCESS EXCLUSIVE",
  RuleStmt: "ACCESS EXCLUSIVE",
  TruncateStmt: "ACCESS EXCLUSIVE",
  ClusterStmt: "ACCESS EXCLUSIVE",
  AlterObjectSchemaStmt: "ACCESS EXCLUSIVE",
  CreateStatsStmt: "SHARE UPDATE EXCLUSIVE",
  AlterSeqStmt: "SHARE ROW EXCLUSIVE",
  InsertStmt: "ROW EXCLUSIVE",
  UpdateStmt: "ROW EXCLUSIVE",
  DeleteStmt: "ROW EXCLUSIVE",
  MergeStmt: "ROW EXCLUSIVE",
};

/**
 * Relations a statement only reads (SELECT, subqueries, INSERT ... SELECT sources). Also GRANT /
 * REVOKE on a table: PostgreSQL 18 takes ACCESS SHARE there, 15 takes none; the stronger is reported.
 */
export const READ_LOCK: LockLevel = "ACCESS SHARE";
/** SELECT ... FOR UPDATE / SHARE. */
export const ROW_LOCKING_READ_LOCK: LockLevel = "ROW SHARE";

/** CREATE TABLE: the new table is nobody else's yet; these are locks on existing ones. */
export const CREATE_TABLE_LOCKS = {
  /** REFERENCES other_table: the foreign key's trigger is added to the referenced table. */
  referenced: "SHARE ROW EXCLUSIVE",
  /** PARTITION OF parent. */
  partitionParent: "ACCESS EXCLUSIVE",
  /** INHERITS (parent). */
  inheritParent: "SHARE UPDATE EXCLUSIVE",
} as const satisfies Record<string, LockLevel>;

export function vacuumLock(full: boolean): LockLevel {
  return full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE";
}

export function refreshMatViewLock(concurrent: boolean): LockLevel {
  return concurrent ? "EXCLUSIVE" : "ACCESS EXCLUSIVE";
}

/** REINDEX: the table is locked SHARE and the index being rebuilt ACCESS EXCLUSIVE (blocking plans that would use it). */
export const REINDEX_LOCK = {
  table: "SHARE",
  index: "ACCESS EXCLUSIVE",
  concurrent: "SHARE UPDATE EXCLUSIVE",
} as const satisfies Record<string, LockLevel>;

// ---------------------------------------------------------------------------------------------
// Transactions

export interface Transactionality {
  transactional: boolean;
  /** Why PostgreSQL refuses it inside a transaction block. */
  reason: string | null;
  notes: string[];
}

/**
 * BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK [TO], SAVEPOINT, RELEASE, PREPARE TRANSACTION,
 * COMMIT/ROLLBACK PREPARED: the parser's TransactionStmt. The console owns a migration's transaction,
 * so a file containing any of them is refused (lint error, executor refusal) rather than run.
 */
export function isTransactionControl(statement: { analysis: { kind: string } }): boolean {
  return statement.analysis.kind === "TransactionStmt";
}

/** Statement types PostgreSQL always refuses inside a transaction block. */
const NEVER_IN_TRANSACTION: Readonly<Record<string, string>> = {
  CreatedbStmt: "CREATE DATABASE cannot run inside a transaction block",
  DropdbStmt: "DROP DATABASE cannot run inside a transaction block",
  AlterSystemStmt: "ALTER SYSTEM cannot run inside a transaction block",
  CreateTableSpaceStmt: "CREATE TABLESPACE cannot run inside a transaction block",
  DropTableSpaceStmt: "DROP TABLESPACE cannot run inside a transaction block",
  // Conservative: refused when it creates or drops a replication slot, which is the default.
  CreateSubscriptionStmt: "CREATE SUBSCRIPTION cannot run inside a transaction block when it creates a slot",
  DropSubscriptionStmt: "DROP SUBSCRIPTION cannot run inside a transaction block when it drops a slot",
};

/** `defGetBoolean`: an option given without a value means true. */
export function optionIsOn(options: Node[] | undefined, name: string): boolean {
  for (const node of options ?? []) {
    if (!("DefElem" in node) || node.DefElem.defname !== name) continue;
    const arg = node.DefElem.arg;
    if (!arg) return true;
    if ("Integer" in arg) return (arg.Integer.ival ?? 0) !== 0;
    if ("Boolean" in arg) return Boolean(arg.Boolean.boolval);
    if ("String" in arg) return !["false", "off", "no", "0"].includes((arg.String.sval ?? "").toLowerCase());
    return true;
  }
  return false;
}

/** Whether the executor may run the statement inside its transaction. */
export function transactionality(kind: string, value: Record<string, unknown>): Transactionality {
  const refuse = (reason: string, notes: string[] = []): Transactionality => ({ transactional: false, reason, notes });
  const ok = (notes: string[] = []): Transactionality => ({ transactional: true, reason: null, notes });

  const fixed = NEVER_IN_TRANSACTION[kind];
  if (fixed) return refuse(fixed);

  switch (kind) {
    case "IndexStmt":
      return value.concurrent ? refuse("CREATE INDEX CONCURRENTLY cannot run inside a transaction block") : ok();
    case "DropStmt":
      return value.concurrent ? refuse("DROP INDEX CONCURRENTLY cannot run inside a transaction block") : ok();
    case "ReindexStmt": {
      if (optionIsOn(value.params as Node[] | undefined, "concurrently")) {
        return refuse("REINDEX CONCURRENTLY cannot run inside a transaction block");
      }
      const target = value.kind as string | undefined;
      if (target === "REINDEX_OBJECT_SCHEMA" || target === "REINDEX_OBJECT_DATABASE" || target === "REINDEX_OBJECT_SYSTEM") {
        return refuse("REINDEX SCHEMA / DATABASE / SYSTEM cannot run inside a transaction block");
      }
      return ok();
    }
    case "VacuumStmt":
      return value.is_vacuumcmd ? refuse("VACUUM cannot run inside a transaction block") : ok(); // plain ANALYZE can
    case "ClusterStmt":
      return value.relation ? ok() : refuse("CLUSTER without a table name cannot run inside a transaction block");
    case "AlterTableStmt": {
      const cmds = (value.cmds as Node[] | undefined) ?? [];
      const detachConcurrently = cmds.some(
        (c) =>
          "AlterTableCmd" in c &&
          c.AlterTableCmd.subtype === "AT_DetachPartition" &&
          c.AlterTableCmd.def !== undefined &&
          "PartitionCmd" in c.AlterTableCmd.def &&
          c.AlterTableCmd.def.PartitionCmd.concurrent,
      );
      return detachConcurrently ? refuse("DETACH PARTITION CONCURRENTLY cannot run inside a transaction block") : ok();
    }
    case "AlterDatabaseStmt":
      return ((value.options as Node[] | undefined) ?? []).some((o) => "DefElem" in o && o.DefElem.defname === "tablespace")
        ? refuse("ALTER DATABASE SET TABLESPACE cannot run inside a transaction block")
        : ok();
    case "DiscardStmt":
      return value.target === "DISCARD_ALL" ? refuse("DISCARD ALL cannot run inside a transaction block") : ok();
    case "TransactionStmt":
      // Running it in the executor's transaction would end that transaction early.
      return refuse("transaction control belongs to the console, not to a migration", [
        "Remove BEGIN/COMMIT/ROLLBACK/SAVEPOINT: the console runs each migration's statements in a transaction itself.",
      ]);
    case "AlterEnumStmt":
      // Legal in a transaction since PostgreSQL 12 (the console requires 15+), with one catch.
      return value.newVal !== undefined && value.oldVal === undefined
        ? ok(["The new enum value cannot be used until the transaction that added it commits."])
        : ok();
    case "DoStmt":
    case "CallStmt":
      return ok(["Runs code the analysis cannot see into: its locks and effects are not listed."]);
    default:
      return ok();
  }
}
