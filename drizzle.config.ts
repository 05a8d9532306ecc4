import { defineConfig } from "drizzle-kit";

// Generates the healthcare target schema's migrations. The console applies them itself (never `drizzle-kit
// migrate` or `push`: push would drop the hand-written objects drizzle cannot express, such as FORCE RLS).
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
  schemaFilter: ["public", "lgpd", "audit"],
  breakpoints: true,
  strict: true,
  verbose: true,
});
