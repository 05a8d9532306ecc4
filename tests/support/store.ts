import path from "node:path";
import { openStore, type Store } from "../../lib/store/db";
import { inject } from "vitest";
import { freshDatabase, type TestDatabase } from "./databases";

export const STORE_MIGRATIONS = path.resolve(import.meta.dirname, "../../lib/store/migrations");

/** A migrated console store in a database of its own, cloned from the run's store template. */
export async function freshStore(): Promise<{ database: TestDatabase; store: Store; close(): Promise<void> }> {
  const database = await freshDatabase({ prefix: "store", template: inject("storeTemplate") });
  const store = openStore(database.url, { max: 4 });
  return {
    database,
    store,
    close: async () => {
      await store.close();
      await database.drop();
    },
  };
}
