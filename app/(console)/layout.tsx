import { connection } from "next/server";
import type { ReactNode } from "react";
import { AppShell } from "@/components/shell/app-shell";
import { pageActor } from "@/app/_server/session";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  await connection();
  const { actor } = await pageActor();
  return <AppShell user={actor}>{children}</AppShell>;
}
