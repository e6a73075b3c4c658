-- warren schema, version 4. Immutable once released: append a new numbered file instead.
-- Run-history retention (docs/retention.md). A job's own limits, as JSON
-- `{"maxAgeMs": n | null, "keepLast": n | null}`: a key left out takes the scope's default
-- (the scheduler's `retention` option); NULL: the scope's default for both.
ALTER TABLE :SCHEMA:.jobs ADD COLUMN retention jsonb;
