import { schemaBeforeDownload, schemaBeforeInput } from "@/lib/deployments/schema-before";
import { guardedDownload } from "@/lib/server/handlers";

export const dynamic = "force-dynamic";

/** The target's schema as it was right before this deployment ran: the pg_dump when there is one, else the catalog snapshot. */
export const GET = guardedDownload({ permission: "deployment:schema-before", input: schemaBeforeInput }, async (input, { store }) =>
  schemaBeforeDownload(store.db, input.id),
);
