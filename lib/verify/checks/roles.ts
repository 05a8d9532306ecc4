/** Group 5: the roles the application uses can neither bypass RLS nor switch it off. */
import { defineCheck, fail, listSome, pass, plural, section, sqlList } from "./util";

function membersSql(appRole: string): string {
  return `WITH RECURSIVE members(oid) AS (
  SELECT oid FROM pg_roles WHERE rolname = '${appRole}'
  UNION SELECT m.member FROM pg_auth_members m JOIN members ON m.roleid = members.oid
), usable(oid) AS (
  SELECT oid FROM members
  UNION SELECT m.roleid FROM pg_auth_members m JOIN usable ON m.member = usable.oid
)`;
}

export const rolesNoBypass = defineCheck({
  id: "roles.no-bypass",
  group: "roles",
  title: "No role the application uses (app_user, its members, the roles they can switch to) is a superuser or has BYPASSRLS",
  severity: "critical",
  fix: "ALTER ROLE <role> NOBYPASSRLS NOSUPERUSER, or revoke its membership in app_user; run maintenance under a separate role that is not a member of app_user.",
  reads: ["roles"],
  run({ catalog, expectations }) {
    const facts = section(catalog, "roles");
    const sql = `${membersSql(expectations.appRole)}
SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolcanlogin, r.oid IN (SELECT oid FROM members) AS uses_app_role
FROM pg_roles r WHERE r.oid IN (SELECT oid FROM usable) ORDER BY 1;`;
    if (!facts.appRoleExists) {
      return fail(`The application role ${expectations.appRole} does not exist: apply migration 0007.`, [`role ${expectations.appRole}`], sql);
    }
    const bad = facts.roles.filter((r) => r.superuser || r.bypassRls);
    const describe = (r: (typeof bad)[number]) => {
      const attrs = [r.superuser && "SUPERUSER", r.bypassRls && "BYPASSRLS"].filter(Boolean).join(", ");
      return `role ${r.name} (${attrs}${r.via ? `, ${r.via}` : ""})`;
    };
    return bad.length === 0
      ? pass(
          `${plural(facts.roles.length, "role")} the application can act as (${listSome(facts.roles.map((r) => r.name), 5)}): none is a superuser or bypasses RLS.`,
          sql,
        )
      : fail(
          `${plural(bad.length, "role")} the application can act as ignore row level security: ${listSome(bad.map(describe))}.`,
          bad.map(describe),
          sql,
          bad.map((r) => ({ role: r.name, superuser: r.superuser, bypassRls: r.bypassRls, canLogin: r.canLogin, kind: r.kind, via: r.via })),
        );
  },
});

export const rolesNoOwnership = defineCheck({
  id: "roles.no-table-ownership",
  group: "roles",
  title: "No role the application uses owns a table (an owner can switch RLS off)",
  severity: "high",
  fix: "ALTER TABLE <table> OWNER TO the migration role; the application role only needs the privileges 0007 grants.",
  reads: ["roles", "tables"],
  run({ catalog, expectations }) {
    const roles = section(catalog, "roles").roles.filter((r) => r.kind !== "reachable");
    const appOids = new Set(roles.map((r) => r.oid));
    const owned = section(catalog, "tables").filter((t) => appOids.has(t.ownerOid));
    const sql = `${membersSql(expectations.appRole)}
SELECT c.oid::regclass AS table, pg_get_userbyid(c.relowner) AS owner
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ${sqlList(expectations.schemas)} AND c.relkind IN ('r', 'p') AND c.relowner IN (SELECT oid FROM members);`;
    return owned.length === 0
      ? pass(`No table of ${expectations.schemas.join(", ")} is owned by ${expectations.appRole} or a role that uses it.`, sql)
      : fail(
          `${plural(owned.length, "table")} owned by a role the application uses: ${listSome(owned.map((t) => `${t.name} (owner ${t.owner})`))}.`,
          owned.map((t) => t.name),
          sql,
          owned.map((t) => ({ table: t.name, owner: t.owner })),
        );
  },
});
