import { AppError } from "../errors";
import type { Store } from "./db";

/** Throws a 503 when the console's store does not answer. */
export async function storeAnswers(store: Store): Promise<{ store: "ok" }> {
  try {
    await store.sql`select 1`;
    return { store: "ok" };
  } catch {
    throw new AppError("unavailable", "The console store does not answer.");
  }
}
