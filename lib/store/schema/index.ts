export * from "./users";
export * from "./environments";
export * from "./audit-events";
export * from "./deployments";
export * from "./verification-snapshots";
export * from "./backfills";
