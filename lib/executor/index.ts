export * from "./executor";
export * from "./errors";
export * from "./selection";
export * from "./backup";
export * from "./destroys";
export * from "./backup-text";
