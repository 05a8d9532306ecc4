/**
 * The one permission map: every action a person can take in the console, and the roles that may
 * take it. Server actions, route handlers, pages, navigation and the gate registry all read it, so
 * a role's reach is changed here and nowhere else. The gate registry (lib/gates) then decides the
 * rest (state, policy, who approved what) for deployment actions.
 */
import { ROLE_LABELS, ROLES, type Role } from "./roles";

/** Who may: listed roles, any active signed-in user, or anyone (no session: liveness only). */
export type Audience = readonly Role[] | "signed-in" | "anyone";

const AUTHORS = ["engineer", "release_manager"] as const satisfies readonly Role[];

export const PERMISSIONS = {
  "console:health": "anyone",
  "overview:read": "signed-in",
  "environment:read": "signed-in",
  "history:read": "signed-in",
  "deployment:read": "signed-in",
  "deployment:create": AUTHORS,
  "deployment:replan": AUTHORS,
  "deployment:approve": ["release_manager"],
  "deployment:signoff": ["compliance_officer"],
  "deployment:reject": ["release_manager", "compliance_officer"],
  "deployment:cancel": AUTHORS,
  /** Cancel a deployment someone else opened (authors may always cancel their own). */
  "deployment:cancel-others": ["release_manager"],
  /** Start an approved deployment (on an environment that needs no approval). */
  "deployment:apply": AUTHORS,
  /** Start one on an environment whose policy requires approvals. */
  "deployment:apply-gated": ["release_manager"],
  "deployment:rollback": AUTHORS,
  /** Download the target's schema as it was right before a deployment ran. */
  "deployment:schema-before": AUTHORS,
  /** Apply or roll back without a deployment (CLI): the gates allow it on ungated environments only. */
  "apply:direct": AUTHORS,
  /** Pause, resume or cancel a running backfill (lib/gates/backfill decides the rest). */
  "backfill:pause": ["release_manager"],
  "backfill:resume": ["release_manager"],
  "backfill:cancel": ["release_manager"],
  "compliance:read": "signed-in",
  "verify:run": "signed-in",
  "evidence:export": ["compliance_officer", "admin"],
  "audit:read": ["release_manager", "compliance_officer", "admin"],
  "audit:export": ["compliance_officer", "admin"],
  /** Add users, change roles, (de)activate, lift sign-in locks. */
  "admin:users": ["admin"],
  /** See the notification channels and recent deliveries. */
  "admin:notifications": ["admin"],
} as const satisfies Record<string, Audience>;

export type Permission = keyof typeof PERMISSIONS;

export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}

/** The roles a permission admits (every role for "signed-in" and "anyone"). */
export function rolesFor(permission: Permission): readonly Role[] {
  const audience: Audience = PERMISSIONS[permission];
  return typeof audience === "string" ? ROLES : audience;
}

/** Whether a caller needs a session at all for this permission. */
export function needsSession(permission: Permission): boolean {
  return PERMISSIONS[permission] !== "anyone";
}

export function can(role: Role, permission: Permission): boolean {
  return rolesFor(permission).includes(role);
}

/** Everything a role may do, for the UI to hide what would only answer 403. */
export function permissionsOf(role: Role): Permission[] {
  return PERMISSION_NAMES.filter((p) => can(role, p));
}

/** "This needs the Release manager role; you are signed in as Engineer." */
export function missingPermissionMessage(role: Role, permission: Permission): string {
  const needed = rolesFor(permission).map((r) => ROLE_LABELS[r]).join(" or ");
  return `This needs the ${needed} role; you are signed in as ${ROLE_LABELS[role]}.`;
}
