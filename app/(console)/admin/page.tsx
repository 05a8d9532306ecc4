import Link from "next/link";
import { AddUserForm } from "@/components/admin/add-user-form";
import { UsersTable } from "@/components/admin/users-table";
import { Card } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { PageHeader } from "@/components/ui/page-header";
import { listUsers } from "@/lib/auth/users";
import { runtime } from "@/lib/server/runtime";
import { pageActor } from "@/lib/server/session";
import { changeRoleAction, createUserAction, setActiveAction } from "./actions";

export const metadata = { title: "Admin" };

export default async function AdminPage() {
  const { actor, forbidden } = await pageActor(["admin"]);
  if (forbidden) return <Forbidden message={forbidden.message} />;
  const users = await listUsers(runtime().store.db);
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
      </div>
    </>
  );
}
