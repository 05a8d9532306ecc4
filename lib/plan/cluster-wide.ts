/**
 * Statements whose effect is not confined to the database they run in: roles, server settings,
 * databases and tablespaces belong to the whole cluster. The plan names them, because their rehearsal
 * (on the isolated shadow cluster) is the only place they ran before the apply changes the target's
 * cluster for every database on it.
 */
import type { Statement } from "../migrations";
import { unwrap } from "../lint/ast";

const BY_KIND: Record<string, string> = {
  CreateRoleStmt: "a role",
  AlterRoleStmt: "a role",
  AlterRoleSetStmt: "a role's settings",
  DropRoleStmt: "a role",
  GrantRoleStmt: "role membership",
  AlterSystemStmt: "the server's configuration (ALTER SYSTEM)",
  CreatedbStmt: "a database",
  DropdbStmt: "a database",
  AlterDatabaseStmt: "a database",
  AlterDatabaseSetStmt: "a database's settings",
  AlterDatabaseRefreshCollStmt: "a database",
  CreateTableSpaceStmt: "a tablespace",
  DropTableSpaceStmt: "a tablespace",
  AlterTableSpaceOptionsStmt: "a tablespace",
};

const CLUSTER_OBJECTS: Record<string, string> = {
  OBJECT_ROLE: "a role",
  OBJECT_DATABASE: "a database",
  OBJECT_TABLESPACE: "a tablespace",
};

/** What cluster-wide object the statement changes ("a role", ...), or null when it stays in its database. */
export function clusterWideChange(s: Pick<Statement, "ast">): string | null {
  const [kind, value] = unwrap(s.ast);
  if (BY_KIND[kind]) return BY_KIND[kind];
  // RENAME, OWNER TO, COMMENT ON and SECURITY LABEL name their object's kind.
  const objectType = (value.renameType ?? value.objectType ?? value.objtype) as string | undefined;
  if ((kind === "RenameStmt" || kind === "AlterOwnerStmt" || kind === "CommentStmt" || kind === "SecLabelStmt") && objectType && CLUSTER_OBJECTS[objectType]) {
    return CLUSTER_OBJECTS[objectType];
  }
  return null;
}
