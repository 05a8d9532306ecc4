import Link from "next/link";
import { AddUserForm } from "@/components/admin/add-user-form";
import { SignInLocks } from "@/components/admin/sign-in-locks";
import { UsersTable } from "@/components/admin/users-table";
import { Card } from "@/components/ui/card";
import { formatDateTime } from "@/lib/format";
import { Forbidden } from "@/components/ui/forbidden";
import { PageHeader } from "@/components/ui/page-header";
import { listSignInLocks } from "@/lib/auth/sign-in";
import { listUsers } from "@/lib/auth/users";
import { runtime } from "@/app/_server/runtime";
import { pageActor } from "@/app/_server/session";
import { changeRoleAction, createUserAction, liftSignInLockAction, setActiveAction } from "./actions";

export const metadata = { title: "Admin" };


export default async function AdminPage() {
  const { actor, forbidden } = await pageActor("admin:users");
  if (forbidden) return <Forbidden message={forbidden.message} />;
  const { store } = runtime();
  const [users, locks] = await Promise.all([listUsers(store.db), listSignInLocks(store.db)]);
  return (
    <>
      <PageHeader
        title="Users and roles"
        description="Who may use the console and what each may do. Every change is recorded in the audit log."
        actions={
          <Link href="/admin/notifications" className="text-sm font-medium text-brand-700 underline">
            Notifications and deliveries
          </Link>
        }
      />
      <div className="space-y-6">
        <Card title="Add a user">
          <AddUserForm createUser={createUserAction} />
        </Card>
        <Card title={`Users (${users.length})`}>
          <UsersTable users={users} currentUserId={actor.id} changeRole={changeRoleAction} setActive={setActiveAction} />
        </Card>
        <Card title="Sign-in locks">
          <SignInLocks locks={locks.map((l) => ({ ...l, lockedUntil: formatDateTime(l.lockedUntil, runtime().config.timeZone) }))} liftLock={liftSignInLockAction} />
        </Card>
      </div>
    </>
  );
}
