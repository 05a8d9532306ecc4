export * from "./schemas";
export * from "./enums";
export * from "./clinics";
export * from "./professionals";
export * from "./patients";
export * from "./appointments";
export * from "./lgpd-consents";
export * from "./consent-records";
