export * from "./executor";
export * from "./errors";
export * from "./selection";
