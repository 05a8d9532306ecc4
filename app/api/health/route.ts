import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/** Liveness for the start script and load balancers: answers whether the store is reachable, nothing more. */
export async function GET() {
  try {
    await runtime().store.sql`select 1`;
    return Response.json({ ok: true });
  } catch {
    return Response.json({ ok: false, error: "The console store does not answer." }, { status: 503 });
  }
}
