-- warren schema, version 2. Immutable once released: append a new numbered file instead.
-- A manual run (runNow) is not a slot of the schedule: its random run id is its identity.
-- Keeping it under the slot key made concurrent runNow calls for one job collide on the
-- same millisecond, so the key now covers every other trigger only.
ALTER TABLE :SCHEMA:.runs DROP CONSTRAINT runs_slot_key;
CREATE UNIQUE INDEX runs_slot_key ON :SCHEMA:.runs (scope, job_id, scheduled_for) WHERE trigger_source <> 'manual';
