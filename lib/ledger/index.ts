export * from "./tables";
export * from "./status";
