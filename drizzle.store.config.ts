import { defineConfig } from "drizzle-kit";

/** The console's own store (users, environments, deployments, audit). Not a target. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./lib/store/schema/index.ts",
  out: "./lib/store/migrations",
});
