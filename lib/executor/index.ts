export * from "./executor";
export * from "./errors";
