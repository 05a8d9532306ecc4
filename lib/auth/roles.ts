/** The console's roles. Permissions are checked on the server; the UI only mirrors them. */
export const ROLES = ["engineer", "release_manager", "compliance_officer", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  engineer: "Engineer",
  release_manager: "Release manager",
  compliance_officer: "Compliance officer",
  admin: "Admin",
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
