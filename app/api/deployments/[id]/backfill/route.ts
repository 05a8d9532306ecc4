import { z } from "zod";
import { backfillView } from "@/lib/backfills/control";
import { guardedRoute } from "@/lib/server/handlers";

export const dynamic = "force-dynamic";

/** A backfill deployment's live progress, polled by its page. Any signed-in user may read it. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const url = new URL(request.url);
  url.searchParams.set("id", id);
  return guardedRoute({ roles: "signed-in", input: z.object({ id: z.uuid() }) }, async (input, { store, actor }) => backfillView(store.db, actor, input.id))(new Request(url));
}
