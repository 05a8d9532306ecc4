import { z } from "zod";
import { runLog } from "@/lib/deployments/service";
import { guardedRoute } from "@/lib/server/handlers";

export const dynamic = "force-dynamic";

/** The live run log the deployment page polls. Any signed-in user may read it. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const url = new URL(request.url);
  url.searchParams.set("id", id);
  // The id or the number users see; an unknown one answers 404.
  return guardedRoute({ roles: "signed-in", input: z.object({ id: z.string().trim().min(1).max(100) }) }, async (input, { store }) => runLog(store.db, input.id))(new Request(url));
}
