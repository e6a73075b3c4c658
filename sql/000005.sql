-- warren schema, version 5. Immutable once released: append a new numbered file instead.
-- Retention marks (docs/retention.md): per job id with runs (a removed job's too), where the
-- last retention pass stood, so the next one counts only the runs created since instead of
-- reading up to keepLast index entries per job (issue #10). A cache: a missing or
-- inconsistent mark is rebuilt by a full count.
CREATE TABLE :SCHEMA:.retention_marks (
  scope      text NOT NULL,
  job_id     text NOT NULL,
  -- The last pass's cutoff ('-infinity' when it had none): a pass prunes only runs created
  -- before its own cutoff, and cutoffs only move forward, so runs at or after it stay.
  mark_at    timestamptz NOT NULL,
  -- How many runs were created at or after mark_at (kept exact by pruneRuns).
  mark_count bigint NOT NULL CHECK (mark_count >= 0),
  -- The newest run's creation when the pass counted: runs created after it are the new ones.
  seen_at    timestamptz NOT NULL,
  PRIMARY KEY (scope, job_id)
);
