-- No two active appointments of one professional overlap. Drizzle cannot express EXCLUDE, so this
-- constraint is hand-written and known to verification by name (db/schema/expectations.ts).
-- btree_gist provides the gist equality on uuid; tstzrange is '[)' so back-to-back slots do not collide.
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_no_professional_overlap"
  EXCLUDE USING gist ("professional_id" WITH =, tstzrange("start_time", "end_time") WITH &&)
  WHERE ("status" NOT IN ('cancelled', 'no_show'));
