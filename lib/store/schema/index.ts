export * from "./users";
export * from "./environments";
export * from "./audit-events";
