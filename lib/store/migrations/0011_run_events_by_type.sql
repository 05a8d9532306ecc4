-- A run's first or latest event of one type in one index probe (the Overview's progress of a
-- running deployment: its run_started total and latest statement_finished count), however long the log.
CREATE INDEX IF NOT EXISTS "run_events_run_type_idx" ON "run_events" USING btree ("run_id","type","id");
