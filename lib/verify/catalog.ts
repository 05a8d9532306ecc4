/** Moved to lib/introspect (the one reader of a PostgreSQL catalog); kept so older imports still work. */
export * from "../introspect/verification-catalog";
