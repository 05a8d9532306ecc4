import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The evidence signing key when none is configured (EVIDENCE_SIGNING_KEY / _FILE): generated once,
 * kept in the store and never written into a bundle. `id` is the public key's fingerprint.
 */
export const signingKeys = pgTable("signing_keys", {
  id: text("id").primaryKey(),
  algorithm: text("algorithm").notNull(),
  publicKey: text("public_key").notNull(),
  privateKey: text("private_key").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
