import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      "server-only": path.resolve(import.meta.dirname, "tests/support/stubs/server-only.ts"),
    },
  },
  test: {
    exclude: ["node_modules/**", "e2e/**", ".next/**", ".data/**"],
    globalSetup: ["tests/setup/global-setup.ts"],
    setupFiles: ["tests/setup/fail-on-console-error.ts"],
    // Test files share two PostgreSQL servers; each file gets its own databases.
    fileParallelism: true,
    maxWorkers: 3,
    testTimeout: 30_000,
    // Only with --coverage (`npm run test:coverage`): V8 coverage of what the tests run in-process.
    coverage: {
      provider: "v8",
      include: ["lib/**", "app/**", "cli/**"],
      exclude: ["**/*.d.ts", "tests/**", "e2e/**"],
      reporter: ["json-summary", "text-summary"],
      reportsDirectory: ".data/coverage",
      // The table is worth reading even when a test failed (the run still exits non-zero).
      reportOnFailure: true,
    },
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: "parallel", include: ["**/*.test.ts"], exclude: ["**/*.cluster.test.ts", "node_modules/**", "e2e/**", ".data/**"] } },
      // *.cluster.test.ts change cluster-wide state (roles) that any concurrent verification would
      // see, so they run alone, after everything else.
      { extends: true, test: { name: "cluster-wide", include: ["**/*.cluster.test.ts"], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
