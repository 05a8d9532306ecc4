/**
 * What one parsed statement does: the relations and columns it names, the locks it takes (per
 * facts.ts), whether it destroys data, and its row-level-security changes. Works on the raw parse
 * tree only: no database is consulted, so names resolve as written (unqualified = public).
 */
import type {
  AlterEnumStmt,
  AlterPolicyStmt,
  AlterSeqStmt,
  AlterTableCmd,
  AlterTableStmt,
  ColumnDef,
  CommentStmt,
  Constraint,
  CreatePolicyStmt,
  CreateStmt,
  CreateTableAsStmt,
  CreateTrigStmt,
  DeleteStmt,
  DropStmt,
  IndexStmt,
  InsertStmt,
  LockStmt,
  Node,
  ObjectType,
  RangeVar,
  ReindexStmt,
  RenameStmt,
  TypeName,
  UpdateStmt,
  VacuumStmt,
  ViewStmt,
} from "libpg-query";
import {
  alterTableCmdLock,
  COMMENT_LOCK,
  COMMENT_ON_RELATION_TYPES,
  COMMENT_ON_TABLE_MEMBER_TYPES,
  CREATE_TABLE_LOCKS,
  DROP_ON_TABLE_LOCK,
  DROP_ON_TABLE_TYPES,
  DROP_RELATION_TYPES,
  dropRelationLock,
  INDEX_LOCK,
  inheritParentLock,
  lockModeFromNumber,
  optionIsOn,
  partitionLock,
  READ_LOCK,
  refreshMatViewLock,
  REINDEX_LOCK,
  renameLock,
  ROW_LOCKING_READ_LOCK,
  strongest,
  TARGET_LOCK,
  transactionality,
  vacuumLock,
  type LockLevel,
} from "./facts";
import type { ColumnAction, ColumnChange, RelationLock, RlsMarker, StatementAnalysis, TableRef } from "./types";

const DEFAULT_SCHEMA = "public";

type RelationKind = "table" | "index" | "sequence";

/** Collects what a statement does while its handler walks the tree. */
class Facts {
  summary: string | null = null;
  readonly notes: string[] = [];
  readonly columns: ColumnChange[] = [];
  readonly rls: RlsMarker[] = [];
  readonly destructive: string[] = [];
  concurrentIndex: StatementAnalysis["concurrentIndex"];
  private readonly locks = new Map<string, RelationLock & { relkind: RelationKind }>();
  private readonly touched = new Map<string, TableRef>();
  /** A lock on tables the statement does not name (an index's table, a schema's contents). */
  private unnamedLock: LockLevel | null = null;

  lock(relation: TableRef, level: LockLevel, relkind: RelationKind = "table"): void {
    const key = refKey(relation);
    const known = this.locks.get(key);
    const stronger = strongest([known?.level, level]) ?? level;
    this.locks.set(key, { relation, level: stronger, relkind: known?.relkind ?? relkind });
    if (relkind === "table") this.touch(relation);
  }

  lockUnnamed(level: LockLevel): void {
    this.unnamedLock = strongest([this.unnamedLock, level]);
  }

  /** A table the statement works on without locking an existing one (e.g. the one it creates). */
  touch(relation: TableRef): void {
    const key = refKey(relation);
    if (!this.touched.has(key)) this.touched.set(key, relation);
  }

  column(table: TableRef, name: string | undefined, action: ColumnAction, extra: Partial<ColumnChange> = {}): void {
    if (name) this.columns.push({ table, name, action, ...extra });
  }

  destroys(reason: string): void {
    if (!this.destructive.includes(reason)) this.destructive.push(reason);
  }

  result(kind: string, sql: string, value: Record<string, unknown>): StatementAnalysis {
    const tx = transactionality(kind, value);
    const locks = [...this.locks.values()].map(({ relation, level, relkind }) =>
      relkind === "index" ? { relation, level, isIndex: true } : { relation, level },
    );
    const analysis: StatementAnalysis = {
      kind,
      summary: this.summary ?? fallbackSummary(sql),
      transactional: tx.transactional,
      nonTransactionalReason: tx.reason,
      notes: [...tx.notes, ...this.notes],
      tables: [...this.touched.values()],
      columns: this.columns,
      // Index locks count: the planner locks every index of a table, so an ACCESS EXCLUSIVE on an
      // index stalls queries on its table just the same.
      lockLevel: strongest([...locks.map((l) => l.level), this.unnamedLock]),
      locks,
      destructive: this.destructive.length > 0,
      destructiveReason: this.destructive.length > 0 ? this.destructive.join("; ") : null,
      rls: this.rls,
    };
    if (this.concurrentIndex) analysis.concurrentIndex = this.concurrentIndex;
    return analysis;
  }
}

/** Analyzes one statement's parse tree. `sql` is its text, used for the fallback summary only. */
export function analyzeStatement(ast: Node, sql: string): StatementAnalysis {
  const [kind, value] = unwrap(ast);
  const facts = new Facts();
  const handler = HANDLERS[kind];
  if (handler) handler(value as never, facts);
  else {
    const targetLock = TARGET_LOCK[kind];
    const relation = (value as { relation?: RangeVar }).relation;
    if (targetLock && relation) facts.lock(ref(relation), targetLock);
  }
  readLocks(value, facts, kind === "SelectStmt" && isLockingSelect(value));
  return facts.result(kind, sql, value);
}

type Handler = (value: never, facts: Facts) => void;

const HANDLERS: Record<string, Handler> = {
  CreateStmt(stmt: CreateStmt, f) {
    const table = ref(stmt.relation);
    f.touch(table);
    const parent = stmt.inhRelations?.[0];
    const parentRef = parent && "RangeVar" in parent ? ref(parent.RangeVar) : null;
    for (const inh of stmt.inhRelations ?? []) {
      if ("RangeVar" in inh) {
        f.lock(ref(inh.RangeVar), stmt.partbound ? CREATE_TABLE_LOCKS.partitionParent : CREATE_TABLE_LOCKS.inheritParent);
      }
    }
    for (const element of stmt.tableElts ?? []) {
      if ("ColumnDef" in element) {
        const col = element.ColumnDef;
        f.column(table, col.colname, "add", typeOf(col));
        for (const c of col.constraints ?? []) if ("Constraint" in c) foreignKeyLock(c.Constraint, table, f);
      } else if ("Constraint" in element) {
        foreignKeyLock(element.Constraint, table, f);
      }
    }
    f.summary = `CREATE TABLE ${q(table)}${stmt.partbound && parentRef ? ` PARTITION OF ${q(parentRef)}` : ""}`;
  },

  CreateTableAsStmt(stmt: CreateTableAsStmt, f) {
    const target = ref(stmt.into?.rel);
    f.touch(target);
    f.summary = stmt.objtype === "OBJECT_MATVIEW" ? `CREATE MATERIALIZED VIEW ${q(target)}` : `CREATE TABLE ${q(target)} AS`;
  },

  ViewStmt(stmt: ViewStmt, f) {
    const view = ref(stmt.view);
    if (stmt.replace) f.lock(view, "ACCESS EXCLUSIVE"); // when it already exists
    else f.touch(view);
    f.summary = `CREATE ${stmt.replace ? "OR REPLACE " : ""}VIEW ${q(view)}`;
  },

  IndexStmt(stmt: IndexStmt, f) {
    const table = ref(stmt.relation);
    f.lock(table, stmt.concurrent ? INDEX_LOCK.concurrent : INDEX_LOCK.plain);
    if (stmt.concurrent) {
      f.concurrentIndex = {
        schema: table.schema,
        table: table.name,
        name: stmt.idxname ?? null,
        ifNotExists: Boolean(stmt.if_not_exists),
      };
      if (!stmt.idxname) f.notes.push("Unnamed concurrent index: name it so a failed build can be found and dropped.");
    }
    const words = [
      "CREATE",
      stmt.unique ? "UNIQUE INDEX" : "INDEX",
      stmt.concurrent ? "CONCURRENTLY" : null,
      stmt.if_not_exists ? "IF NOT EXISTS" : null,
      stmt.idxname ?? null,
      `ON ${q(table)}`,
    ];
    f.summary = words.filter(Boolean).join(" ");
  },

  AlterTableStmt(stmt: AlterTableStmt, f) {
    const objtype = stmt.objtype ?? "OBJECT_TABLE";
    const target = ref(stmt.relation);
    const relkind: RelationKind = objtype === "OBJECT_INDEX" ? "index" : objtype === "OBJECT_SEQUENCE" ? "sequence" : "table";
    const parts: string[] = [];
    for (const node of stmt.cmds ?? []) {
      if (!("AlterTableCmd" in node)) continue;
      const cmd = node.AlterTableCmd;
      if (objtype !== "OBJECT_TYPE") f.lock(target, alterTableCmdLock(cmd), relkind);
      parts.push(alterTableCmd(cmd, target, f));
    }
    f.summary = `ALTER ${objectWord(objtype)} ${q(target)} ${parts.join(", ")}`;
  },

  RenameStmt(stmt: RenameStmt, f) {
    const type = stmt.renameType;
    const level = renameLock(type);
    if (stmt.relation) {
      const target = ref(stmt.relation);
      if (level) f.lock(target, level, type === "OBJECT_INDEX" ? "index" : type === "OBJECT_SEQUENCE" ? "sequence" : "table");
      if (type === "OBJECT_COLUMN") f.column(target, stmt.subname, "rename", { newName: stmt.newname });
      if (type === "OBJECT_POLICY" && stmt.subname) {
        f.rls.push({ action: "rename-policy", table: target, policy: stmt.subname, newName: stmt.newname });
      }
      const member = stmt.subname ? ` ${memberWord(type)} ${stmt.subname}` : "";
      const what = member ? (stmt.relationType === "OBJECT_VIEW" ? "VIEW" : "TABLE") : objectWord(type);
      f.summary = `ALTER ${what} ${q(target)} RENAME${member} TO ${stmt.newname}`;
    } else {
      f.summary = `ALTER ${objectWord(type)} ${objectName(stmt.object)} RENAME${stmt.subname ? ` ${stmt.subname}` : ""} TO ${stmt.newname}`;
    }
  },

  DropStmt(stmt: DropStmt, f) {
    const type = stmt.removeType ?? "OBJECT_TABLE";
    const cascade = stmt.behavior === "DROP_CASCADE";
    const names: string[] = [];
    for (const object of stmt.objects ?? []) {
      const parts = nameParts(object);
      if (DROP_RELATION_TYPES.has(type)) {
        const relation = partsRef(parts);
        names.push(q(relation));
        const level = dropRelationLock(Boolean(stmt.concurrent));
        if (type === "OBJECT_INDEX") {
          f.lock(relation, level, "index");
          f.lockUnnamed(level); // PostgreSQL locks the index's table first, with the same mode
        } else {
          f.lock(relation, level, type === "OBJECT_SEQUENCE" ? "sequence" : "table");
        }
        if (type === "OBJECT_TABLE") f.destroys(`drops table ${q(relation)} and its data`);
        if (type === "OBJECT_SEQUENCE") f.destroys(`drops sequence ${q(relation)} and its current value`);
      } else if (DROP_ON_TABLE_TYPES.has(type)) {
        const member = parts.at(-1) ?? "?";
        const table = partsRef(parts.slice(0, -1));
        names.push(`${member} ON ${q(table)}`);
        f.lock(table, DROP_ON_TABLE_LOCK);
        if (type === "OBJECT_POLICY") f.rls.push({ action: "drop-policy", table, policy: member });
      } else {
        names.push(parts.join("."));
        if (type === "OBJECT_SCHEMA") f.destroys(`drops schema ${parts.join(".")}${cascade ? " and everything in it" : ""}`);
      }
    }
    if (cascade) {
      f.destroys("CASCADE also drops every object that depends on it");
      f.lockUnnamed("ACCESS EXCLUSIVE");
    }
    const words = ["DROP", objectWord(type), stmt.concurrent ? "CONCURRENTLY" : null, stmt.missing_ok ? "IF EXISTS" : null];
    f.summary = `${words.filter(Boolean).join(" ")} ${names.join(", ")}${cascade ? " CASCADE" : ""}`;
  },

  DropOwnedStmt(_stmt: unknown, f) {
    f.destroys("DROP OWNED drops every object the roles own");
    f.lockUnnamed("ACCESS EXCLUSIVE");
    f.summary = "DROP OWNED";
  },

  DropdbStmt(stmt: { dbname?: string }, f) {
    f.destroys(`drops database ${stmt.dbname}`);
    f.summary = `DROP DATABASE ${stmt.dbname}`;
  },

  TruncateStmt(stmt: { relations?: Node[]; behavior?: string }, f) {
    const names = rangeVars(stmt.relations).map((r) => {
      f.lock(r, TARGET_LOCK.TruncateStmt!);
      f.destroys(`TRUNCATE deletes every row of ${q(r)}`);
      return q(r);
    });
    if (stmt.behavior === "DROP_CASCADE") f.destroys("CASCADE also truncates every table referencing it");
    f.summary = `TRUNCATE ${names.join(", ")}${stmt.behavior === "DROP_CASCADE" ? " CASCADE" : ""}`;
  },

  DeleteStmt(stmt: DeleteStmt, f) {
    const table = ref(stmt.relation);
    f.lock(table, TARGET_LOCK.DeleteStmt!);
    if (!stmt.whereClause) f.destroys(`DELETE without WHERE removes every row of ${q(table)}`);
    f.summary = `DELETE FROM ${q(table)}${stmt.whereClause ? "" : " (every row)"}`;
  },

  UpdateStmt(stmt: UpdateStmt, f) {
    const table = ref(stmt.relation);
    f.lock(table, TARGET_LOCK.UpdateStmt!);
    for (const t of stmt.targetList ?? []) if ("ResTarget" in t) f.column(table, t.ResTarget.name, "update");
    if (!stmt.whereClause) f.destroys(`UPDATE without WHERE overwrites every row of ${q(table)}`);
    const cols = f.columns.map((c) => c.name).join(", ");
    f.summary = `UPDATE ${q(table)} SET ${cols}${stmt.whereClause ? "" : " (every row)"}`;
  },

  InsertStmt(stmt: InsertStmt, f) {
    const table = ref(stmt.relation);
    f.lock(table, TARGET_LOCK.InsertStmt!);
    f.summary = `INSERT INTO ${q(table)}`;
  },

  CreatePolicyStmt(stmt: CreatePolicyStmt, f) {
    const table = ref(stmt.table);
    f.lock(table, TARGET_LOCK.CreatePolicyStmt!);
    const policy = stmt.policy_name ?? "?";
    f.rls.push({ action: "create-policy", table, policy });
    const roles = (stmt.roles ?? []).map(roleName).filter(Boolean);
    // The parse tree omits `permissive: false`, so absence means AS RESTRICTIVE.
    f.summary =
      `CREATE POLICY ${policy} ON ${q(table)}` +
      (stmt.permissive ? "" : " AS RESTRICTIVE") +
      ` FOR ${(stmt.cmd_name ?? "all").toUpperCase()}` +
      (roles.length ? ` TO ${roles.join(", ")}` : "");
  },

  AlterPolicyStmt(stmt: AlterPolicyStmt, f) {
    const table = ref(stmt.table);
    f.lock(table, TARGET_LOCK.AlterPolicyStmt!);
    f.rls.push({ action: "alter-policy", table, policy: stmt.policy_name ?? "?" });
    f.summary = `ALTER POLICY ${stmt.policy_name} ON ${q(table)}`;
  },

  CreateTrigStmt(stmt: CreateTrigStmt, f) {
    const table = ref(stmt.relation);
    f.lock(table, TARGET_LOCK.CreateTrigStmt!);
    f.summary = `CREATE ${stmt.replace ? "OR REPLACE " : ""}TRIGGER ${stmt.trigname} ON ${q(table)}`;
  },

  CommentStmt(stmt: CommentStmt, f) {
    const type = stmt.objtype;
    const parts = nameParts(stmt.object);
    if (type && COMMENT_ON_RELATION_TYPES.has(type)) {
      f.lock(partsRef(parts), COMMENT_LOCK, type === "OBJECT_INDEX" ? "index" : type === "OBJECT_SEQUENCE" ? "sequence" : "table");
    } else if (type && COMMENT_ON_TABLE_MEMBER_TYPES.has(type)) {
      f.lock(partsRef(parts.slice(0, -1)), COMMENT_LOCK);
    }
    f.summary = `COMMENT ON ${objectWord(type)} ${parts.join(".")}`;
  },

  LockStmt(stmt: LockStmt, f) {
    const level = lockModeFromNumber(stmt.mode ?? 8) ?? "ACCESS EXCLUSIVE";
    const names = rangeVars(stmt.relations).map((r) => (f.lock(r, level), q(r)));
    f.summary = `LOCK TABLE ${names.join(", ")} IN ${level} MODE`;
  },

  VacuumStmt(stmt: VacuumStmt, f) {
    const full = Boolean(stmt.is_vacuumcmd) && optionIsOn(stmt.options, "full");
    const level = vacuumLock(full);
    const names: string[] = [];
    for (const r of stmt.rels ?? []) {
      if ("VacuumRelation" in r && r.VacuumRelation.relation) {
        const table = ref(r.VacuumRelation.relation);
        f.lock(table, level);
        names.push(q(table));
      }
    }
    if (names.length === 0) f.lockUnnamed(level);
    f.summary = `${stmt.is_vacuumcmd ? (full ? "VACUUM FULL" : "VACUUM") : "ANALYZE"} ${names.join(", ") || "(every table)"}`;
  },

  ReindexStmt(stmt: ReindexStmt, f) {
    const concurrent = optionIsOn(stmt.params, "concurrently");
    const target = stmt.relation ? ref(stmt.relation) : null;
    if (stmt.kind === "REINDEX_OBJECT_INDEX" && target) {
      f.lock(target, concurrent ? REINDEX_LOCK.concurrent : REINDEX_LOCK.index, "index");
      f.lockUnnamed(concurrent ? REINDEX_LOCK.concurrent : REINDEX_LOCK.table);
    } else if (target) {
      f.lock(target, concurrent ? REINDEX_LOCK.concurrent : REINDEX_LOCK.table);
      if (!concurrent) f.lockUnnamed(REINDEX_LOCK.index); // its indexes, one at a time
    } else {
      f.lockUnnamed(concurrent ? REINDEX_LOCK.concurrent : REINDEX_LOCK.index);
    }
    const what = (stmt.kind ?? "REINDEX_OBJECT_TABLE").replace("REINDEX_OBJECT_", "");
    f.summary = `REINDEX ${what}${concurrent ? " CONCURRENTLY" : ""} ${target ? q(target) : (stmt.name ?? "")}`.trim();
  },

  ClusterStmt(stmt: { relation?: RangeVar }, f) {
    if (stmt.relation) f.lock(ref(stmt.relation), TARGET_LOCK.ClusterStmt!);
    else f.lockUnnamed(TARGET_LOCK.ClusterStmt!);
    f.summary = `CLUSTER${stmt.relation ? ` ${q(ref(stmt.relation))}` : ""}`;
  },

  RefreshMatViewStmt(stmt: { relation?: RangeVar; concurrent?: boolean }, f) {
    const view = ref(stmt.relation);
    f.lock(view, refreshMatViewLock(Boolean(stmt.concurrent)));
    f.summary = `REFRESH MATERIALIZED VIEW${stmt.concurrent ? " CONCURRENTLY" : ""} ${q(view)}`;
  },

  CreateStatsStmt(stmt: { relations?: Node[]; defnames?: Node[] }, f) {
    const tables = rangeVars(stmt.relations);
    for (const t of tables) f.lock(t, TARGET_LOCK.CreateStatsStmt!);
    f.summary = `CREATE STATISTICS ${nameParts(list(stmt.defnames)).join(".")} ON ${tables.map(q).join(", ")}`;
  },

  AlterSeqStmt(stmt: AlterSeqStmt, f) {
    const seq = ref(stmt.sequence);
    f.lock(seq, TARGET_LOCK.AlterSeqStmt!, "sequence");
    f.summary = `ALTER SEQUENCE ${q(seq)}`;
  },

  AlterObjectSchemaStmt(stmt: { objectType?: ObjectType; relation?: RangeVar; object?: Node; newschema?: string }, f) {
    if (stmt.relation) {
      const rel = ref(stmt.relation);
      f.lock(rel, TARGET_LOCK.AlterObjectSchemaStmt!, stmt.objectType === "OBJECT_SEQUENCE" ? "sequence" : "table");
      f.summary = `ALTER ${objectWord(stmt.objectType)} ${q(rel)} SET SCHEMA ${stmt.newschema}`;
    } else {
      f.summary = `ALTER ${objectWord(stmt.objectType)} ${objectName(stmt.object)} SET SCHEMA ${stmt.newschema}`;
    }
  },

  RuleStmt(stmt: { relation?: RangeVar; rulename?: string; replace?: boolean }, f) {
    const table = ref(stmt.relation);
    f.lock(table, TARGET_LOCK.RuleStmt!);
    f.summary = `CREATE ${stmt.replace ? "OR REPLACE " : ""}RULE ${stmt.rulename} ON ${q(table)}`;
  },

  AlterEnumStmt(stmt: AlterEnumStmt, f) {
    const type = nameParts(list(stmt.typeName)).join(".");
    f.summary =
      stmt.oldVal !== undefined
        ? `ALTER TYPE ${type} RENAME VALUE '${stmt.oldVal}' TO '${stmt.newVal}'`
        : `ALTER TYPE ${type} ADD VALUE${stmt.skipIfNewValExists ? " IF NOT EXISTS" : ""} '${stmt.newVal}'`;
  },

  CreateEnumStmt(stmt: { typeName?: Node[]; vals?: Node[] }, f) {
    f.summary = `CREATE TYPE ${nameParts(list(stmt.typeName)).join(".")} AS ENUM (${(stmt.vals ?? []).length} values)`;
  },

  CreateFunctionStmt(stmt: { funcname?: Node[]; replace?: boolean; is_procedure?: boolean }, f) {
    const what = stmt.is_procedure ? "PROCEDURE" : "FUNCTION";
    f.summary = `CREATE ${stmt.replace ? "OR REPLACE " : ""}${what} ${nameParts(list(stmt.funcname)).join(".")}`;
  },

  CreateSchemaStmt(stmt: { schemaname?: string; if_not_exists?: boolean }, f) {
    f.summary = `CREATE SCHEMA ${stmt.if_not_exists ? "IF NOT EXISTS " : ""}${stmt.schemaname}`;
  },

  CreateExtensionStmt(stmt: { extname?: string; if_not_exists?: boolean }, f) {
    f.summary = `CREATE EXTENSION ${stmt.if_not_exists ? "IF NOT EXISTS " : ""}${stmt.extname}`;
  },

  CreateSeqStmt(stmt: { sequence?: RangeVar }, f) {
    f.summary = `CREATE SEQUENCE ${q(ref(stmt.sequence))}`;
  },

  CreateRoleStmt(stmt: { role?: string; stmt_type?: string }, f) {
    f.summary = `CREATE ${stmt.stmt_type === "ROLESTMT_USER" ? "USER" : "ROLE"} ${stmt.role}`;
  },

  GrantStmt(stmt: { is_grant?: boolean; objtype?: ObjectType; objects?: Node[]; privileges?: Node[]; grantees?: Node[] }, f) {
    const objects = (stmt.objects ?? []).map((o) => ("RangeVar" in o ? q(ref(o.RangeVar)) : objectName(o)));
    const privileges = (stmt.privileges ?? []).map((p) => ("AccessPriv" in p ? (p.AccessPriv.priv_name ?? "").toUpperCase() : "?"));
    const grantees = (stmt.grantees ?? []).map(roleName).join(", ");
    f.summary =
      `${stmt.is_grant ? "GRANT" : "REVOKE"} ${privileges.join(", ") || "ALL"} ON ${objectWord(stmt.objtype)} ${objects.join(", ")}` +
      ` ${stmt.is_grant ? "TO" : "FROM"} ${grantees}`;
  },

  VariableSetStmt(stmt: { kind?: string; name?: string; is_local?: boolean }, f) {
    f.summary = stmt.kind?.startsWith("VAR_RESET") ? `RESET ${stmt.name ?? "ALL"}` : `SET ${stmt.is_local ? "LOCAL " : ""}${stmt.name}`;
    if (stmt.kind === "VAR_SET_VALUE" && !stmt.is_local) {
      f.notes.push("SET without LOCAL outlives the migration's transaction on this connection.");
    }
  },

  TransactionStmt(stmt: { kind?: string }, f) {
    f.summary = (stmt.kind ?? "TRANS_STMT").replace("TRANS_STMT_", "").replaceAll("_", " ");
  },

  DoStmt(_stmt: unknown, f) {
    f.summary = "DO block";
  },

  SelectStmt(_stmt: unknown, f) {
    f.summary = "SELECT";
  },
};

function alterTableCmd(cmd: AlterTableCmd, table: TableRef, f: Facts): string {
  const col = cmd.name;
  const cascade = cmd.behavior === "DROP_CASCADE";
  if (cascade) {
    f.destroys("CASCADE also drops every object that depends on it");
    f.lockUnnamed("ACCESS EXCLUSIVE");
  }
  const suffix = cascade ? " CASCADE" : "";
  switch (cmd.subtype) {
    case "AT_AddColumn": {
      const def = cmd.def && "ColumnDef" in cmd.def ? cmd.def.ColumnDef : undefined;
      f.column(table, def?.colname, "add", def ? typeOf(def) : {});
      for (const c of def?.constraints ?? []) if ("Constraint" in c) foreignKeyLock(c.Constraint, table, f);
      return `ADD COLUMN ${def?.colname}${def?.typeName ? ` ${typeText(def.typeName)}` : ""}`;
    }
    case "AT_DropColumn":
      f.column(table, col, "drop");
      f.destroys(`drops column ${q(table)}.${col} and its data`);
      return `DROP COLUMN ${col}${suffix}`;
    case "AT_AlterColumnType": {
      const def = cmd.def && "ColumnDef" in cmd.def ? cmd.def.ColumnDef : undefined;
      f.column(table, col, "alter-type", def ? typeOf(def) : {});
      f.destroys(`changes the type of ${q(table)}.${col}: rewrites the table and may not convert back`);
      return `ALTER COLUMN ${col} TYPE ${def?.typeName ? typeText(def.typeName) : "?"}`;
    }
    case "AT_ColumnDefault":
      f.column(table, col, cmd.def ? "set-default" : "drop-default");
      return `ALTER COLUMN ${col} ${cmd.def ? "SET" : "DROP"} DEFAULT`;
    case "AT_SetNotNull":
      f.column(table, col, "set-not-null");
      return `ALTER COLUMN ${col} SET NOT NULL`;
    case "AT_DropNotNull":
      f.column(table, col, "drop-not-null");
      return `ALTER COLUMN ${col} DROP NOT NULL`;
    case "AT_AddConstraint": {
      const con = cmd.def && "Constraint" in cmd.def ? cmd.def.Constraint : undefined;
      if (!con) return "ADD CONSTRAINT";
      const target = foreignKeyLock(con, table, f);
      const what = CONSTRAINT_WORDS[con.contype ?? ""] ?? "CONSTRAINT";
      return (
        `ADD ${con.conname ? `CONSTRAINT ${con.conname} ` : ""}${what}` +
        (target ? ` REFERENCES ${q(target)}` : "") +
        (con.skip_validation ? " NOT VALID" : "")
      );
    }
    case "AT_ValidateConstraint":
      return `VALIDATE CONSTRAINT ${cmd.name}`;
    case "AT_DropConstraint":
      return `DROP CONSTRAINT ${cmd.name}${suffix}`;
    case "AT_EnableRowSecurity":
      f.rls.push({ action: "enable", table });
      return "ENABLE ROW LEVEL SECURITY";
    case "AT_DisableRowSecurity":
      f.rls.push({ action: "disable", table });
      return "DISABLE ROW LEVEL SECURITY";
    case "AT_ForceRowSecurity":
      f.rls.push({ action: "force", table });
      return "FORCE ROW LEVEL SECURITY";
    case "AT_NoForceRowSecurity":
      f.rls.push({ action: "no-force", table });
      return "NO FORCE ROW LEVEL SECURITY";
    case "AT_AttachPartition":
    case "AT_DetachPartition":
    case "AT_DetachPartitionFinalize": {
      const pc = cmd.def && "PartitionCmd" in cmd.def ? cmd.def.PartitionCmd : undefined;
      const partition = pc?.name ? ref(pc.name) : null;
      if (partition) f.lock(partition, partitionLock(cmd));
      const verb = cmd.subtype === "AT_AttachPartition" ? "ATTACH" : "DETACH";
      const tail = cmd.subtype === "AT_DetachPartitionFinalize" ? " FINALIZE" : pc?.concurrent ? " CONCURRENTLY" : "";
      return `${verb} PARTITION ${partition ? q(partition) : "?"}${tail}`;
    }
    case "AT_SetRelOptions":
    case "AT_ResetRelOptions": {
      const names = (cmd.def && "List" in cmd.def ? (cmd.def.List.items ?? []) : []).map((o) =>
        "DefElem" in o ? [o.DefElem.defnamespace, o.DefElem.defname].filter(Boolean).join(".") : "?",
      );
      return `${cmd.subtype === "AT_SetRelOptions" ? "SET" : "RESET"} (${names.join(", ")})`;
    }
    case "AT_AddInherit":
    case "AT_DropInherit": {
      const parent = cmd.def && "RangeVar" in cmd.def ? ref(cmd.def.RangeVar) : null;
      if (parent) f.lock(parent, inheritParentLock(cmd));
      return `${cmd.subtype === "AT_AddInherit" ? "INHERIT" : "NO INHERIT"} ${parent ? q(parent) : "?"}`;
    }
    case "AT_ChangeOwner":
      return `OWNER TO ${cmd.newowner ? roleName({ RoleSpec: cmd.newowner }) : "?"}`;
    default: {
      const words = subtypeWords(cmd.subtype);
      if (col && COLUMN_SUBTYPES.has(cmd.subtype ?? "")) {
        f.column(table, col, "alter");
        return `ALTER COLUMN ${col} ${words}`;
      }
      return `${words}${cmd.name ? ` ${cmd.name}` : ""}${suffix}`;
    }
  }
}

const COLUMN_SUBTYPES = new Set([
  "AT_SetStatistics",
  "AT_SetOptions",
  "AT_ResetOptions",
  "AT_SetStorage",
  "AT_SetCompression",
  "AT_AddIdentity",
  "AT_SetIdentity",
  "AT_DropIdentity",
  "AT_SetExpression",
  "AT_DropExpression",
  "AT_AlterColumnGenericOptions",
]);

const CONSTRAINT_WORDS: Record<string, string> = {
  CONSTR_FOREIGN: "FOREIGN KEY",
  CONSTR_PRIMARY: "PRIMARY KEY",
  CONSTR_UNIQUE: "UNIQUE",
  CONSTR_CHECK: "CHECK",
  CONSTR_EXCLUSION: "EXCLUDE",
  CONSTR_NOTNULL: "NOT NULL",
};

/** A foreign key locks the table it references; returns that table. Self-references lock nothing more. */
function foreignKeyLock(con: Constraint, table: TableRef, f: Facts): TableRef | null {
  if (con.contype !== "CONSTR_FOREIGN" || !con.pktable) return null;
  const target = ref(con.pktable);
  if (refKey(target) !== refKey(table)) f.lock(target, CREATE_TABLE_LOCKS.referenced);
  return target;
}

/** Relations a statement reads (FROM, JOIN, subqueries, USING ...) get ACCESS SHARE; CTE names are not relations. */
function readLocks(value: unknown, f: Facts, rowLocking: boolean): void {
  const ctes = new Set<string>();
  const found: RangeVar[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!node || typeof node !== "object") return;
    for (const [key, child] of Object.entries(node)) {
      if (key === "RangeVar") found.push(child as RangeVar);
      else if (key === "CommonTableExpr") {
        const name = (child as { ctename?: string }).ctename;
        if (name) ctes.add(name);
      }
      visit(child);
    }
  };
  visit(value);
  for (const rv of found) {
    if (!rv.schemaname && rv.relname && ctes.has(rv.relname)) continue;
    f.lock(ref(rv), rowLocking ? ROW_LOCKING_READ_LOCK : READ_LOCK);
  }
}

function isLockingSelect(value: unknown): boolean {
  return Boolean((value as { lockingClause?: unknown[] }).lockingClause?.length);
}

// ---------------------------------------------------------------------------------------------
// Small helpers over the parse tree

/** `{ CreateStmt: {...} }` → ["CreateStmt", {...}]. */
export function unwrap(node: Node): [string, Record<string, unknown>] {
  const [kind, value] = Object.entries(node)[0] ?? ["Unknown", {}];
  return [kind, (value ?? {}) as Record<string, unknown>];
}

function ref(rv: RangeVar | undefined): TableRef {
  return { schema: rv?.schemaname ?? DEFAULT_SCHEMA, name: rv?.relname ?? "?" };
}

function refKey(r: TableRef): string {
  return `${r.schema}.${r.name}`;
}

function q(r: TableRef): string {
  return refKey(r);
}

function rangeVars(nodes: Node[] | undefined): TableRef[] {
  return (nodes ?? []).flatMap((n) => ("RangeVar" in n ? [ref(n.RangeVar)] : []));
}

function list(items: Node[] | undefined): Node {
  return { List: { items: items ?? [] } };
}

/** Name parts of a `List` of `String`s, a `String`, a `TypeName` or an `ObjectWithArgs`. */
function nameParts(node: Node | undefined): string[] {
  if (!node) return [];
  if ("String" in node) return [node.String.sval ?? ""];
  if ("List" in node) return (node.List.items ?? []).flatMap(nameParts);
  if ("TypeName" in node) return (node.TypeName.names ?? []).flatMap(nameParts);
  if ("ObjectWithArgs" in node) return (node.ObjectWithArgs.objname ?? []).flatMap(nameParts);
  return [];
}

function partsRef(parts: string[]): TableRef {
  const name = parts.at(-1) ?? "?";
  return { schema: parts.length > 1 ? parts.at(-2)! : DEFAULT_SCHEMA, name };
}

function objectName(node: Node | undefined): string {
  return nameParts(node).join(".") || "?";
}

function roleName(node: Node): string {
  if (!("RoleSpec" in node)) return "";
  const spec = node.RoleSpec;
  if (spec.roletype === "ROLESPEC_CSTRING") return spec.rolename ?? "";
  return (spec.roletype ?? "").replace("ROLESPEC_", ""); // PUBLIC, CURRENT_USER ...
}

function typeText(t: TypeName): string {
  const names = (t.names ?? []).flatMap(nameParts);
  const shown = names[0] === "pg_catalog" ? names.slice(1) : names;
  const mods = (t.typmods ?? []).map((m) =>
    "A_Const" in m ? String(m.A_Const.ival?.ival ?? m.A_Const.sval?.sval ?? "") : "?",
  );
  return `${shown.join(".")}${mods.length ? `(${mods.join(",")})` : ""}${"[]".repeat(t.arrayBounds?.length ?? 0)}`;
}

function typeOf(col: ColumnDef): { type?: string } {
  return col.typeName ? { type: typeText(col.typeName) } : {};
}

const OBJECT_WORDS: Partial<Record<ObjectType, string>> = {
  OBJECT_MATVIEW: "MATERIALIZED VIEW",
  OBJECT_FOREIGN_TABLE: "FOREIGN TABLE",
  OBJECT_TABCONSTRAINT: "CONSTRAINT",
  OBJECT_DOMCONSTRAINT: "CONSTRAINT",
  OBJECT_ACCESS_METHOD: "ACCESS METHOD",
};

function objectWord(type: ObjectType | undefined): string {
  if (!type) return "TABLE";
  return OBJECT_WORDS[type] ?? type.replace("OBJECT_", "").replaceAll("_", " ");
}

function memberWord(type: ObjectType | undefined): string {
  return type === "OBJECT_TABCONSTRAINT" ? "CONSTRAINT" : objectWord(type);
}

/** "AT_SetStatistics" → "SET STATISTICS". */
function subtypeWords(subtype: string | undefined): string {
  return (subtype ?? "AT_Unknown")
    .replace(/^AT_/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toUpperCase();
}

/** First words of the statement, for kinds without a summary of their own. */
function fallbackSummary(sql: string): string {
  const oneLine = sql.split(/\s+/).filter(Boolean).join(" ");
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}
