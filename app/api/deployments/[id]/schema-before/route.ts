import { schemaBeforeDownload, schemaBeforeInput } from "@/lib/deployments/schema-before";
import { guardedDownload } from "@/app/_server/handlers";

export const dynamic = "force-dynamic";

/** The target's schema as it was right before this deployment ran, as readable SQL DDL generated from the catalog snapshot. */
export const GET = guardedDownload({ permission: "deployment:schema-before", input: schemaBeforeInput }, async (input, { store }) =>
  schemaBeforeDownload(store.db, input.id),
);
