import Link from "next/link";
import type { ReactNode } from "react";
import { can, type Permission } from "@/lib/auth/permissions";
import { ROLE_LABELS, type Role } from "@/lib/auth/roles";
import { NavLinks, type NavItem } from "./nav-links";
import { SignOutButton } from "./sign-out-button";

/** Each section with the permission its page needs: a role sees only what it may open. */
const NAV: (NavItem & { permission: Permission })[] = [
  { href: "/", label: "Overview", permission: "overview:read" },
  { href: "/environments", label: "Environments", permission: "environment:read" },
  { href: "/deployments", label: "Deployments", permission: "deployment:read" },
  { href: "/compliance", label: "Compliance", permission: "compliance:read" },
  { href: "/history", label: "History", permission: "history:read" },
  { href: "/audit", label: "Audit", permission: "audit:read" },
  { href: "/admin", label: "Admin", permission: "admin:users" },
];

export function AppShell({ user, children }: { user: { name: string; email: string; role: Role }; children: ReactNode }) {
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-4 px-6 py-3">
          <div className="flex flex-wrap items-center gap-6">
            <Link href="/" className="text-base font-semibold text-slate-900">
              Migration Console
            </Link>
            <NavLinks items={NAV.filter((item) => can(user.role, item.permission)).map(({ href, label }) => ({ href, label }))} />
          </div>
          <div className="flex items-center gap-3">
            <div className="text-right leading-tight" data-testid="signed-in-user">
              <div className="text-sm font-medium text-slate-900">{user.name}</div>
              <div className="text-xs text-slate-500">
                <span>{ROLE_LABELS[user.role]}</span> · <span>{user.email}</span>
              </div>
            </div>
            <SignOutButton />
          </div>
        </div>
      </header>
      <main className="mx-auto max-w-7xl px-6 py-8">{children}</main>
    </div>
  );
}
