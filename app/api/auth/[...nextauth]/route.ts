import NextAuth from "next-auth";
import { runtime } from "@/app/_server/runtime";

export const dynamic = "force-dynamic";

function handler(request: Request, context: { params: Promise<{ nextauth: string[] }> }) {
  return NextAuth(runtime().authOptions)(request, context);
}

export { handler as GET, handler as POST };
