/** The console's roles. Permissions are checked on the server; the UI only mirrors them. */
import type { USER_ROLES } from "../store/schema/users";

export const ROLES = ["engineer", "release_manager", "compliance_officer", "admin"] as const;
export type Role = (typeof ROLES)[number];

// The store's role column holds exactly these (defined there so the store imports nothing above it).
type StoredRole = (typeof USER_ROLES)[number];
const sameRoles: [Role, StoredRole] extends [StoredRole, Role] ? true : never = true;
void sameRoles;

export const ROLE_LABELS: Record<Role, string> = {
  engineer: "Engineer",
  release_manager: "Release manager",
  compliance_officer: "Compliance officer",
  admin: "Admin",
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
