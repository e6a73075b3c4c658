-- warren schema, version 1. Immutable once released: append a new numbered file instead.
-- :SCHEMA: is replaced by the quoted schema name at run time (migrate.ts).

-- Created by migrate() before this file runs (its row is inserted first so concurrent
-- migrators serialize); repeated here so the file documents the whole schema.
CREATE TABLE IF NOT EXISTS :SCHEMA:.migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE :SCHEMA:.jobs (
  scope          text NOT NULL,
  job_id         text NOT NULL,
  queue          text NOT NULL,
  schedule       jsonb,
  reschedule     text NOT NULL CHECK (reschedule IN ('scheduler', 'queue')),
  params         jsonb NOT NULL DEFAULT '{}'::jsonb,
  enabled        boolean NOT NULL DEFAULT true,
  pause_note     text,
  epoch          integer NOT NULL DEFAULT 0,
  max_parallel   integer NOT NULL DEFAULT 1,
  overlap        text NOT NULL CHECK (overlap IN ('skip', 'bufferOne', 'bufferAll', 'cancelOther', 'allowAll')),
  timeout_ms     bigint NOT NULL,
  retry          jsonb NOT NULL,
  catchup        jsonb NOT NULL,
  stale          jsonb NOT NULL,
  description    text,
  run_on_startup boolean NOT NULL DEFAULT false,
  -- JobConfig keys set through the control API; a code sync leaves them alone.
  overridden     text[] NOT NULL DEFAULT '{}',
  next_due_at    timestamptz,
  last_run_at    timestamptz,
  last_status    text,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (scope, job_id)
);

-- The leader's "what is due" scan.
CREATE INDEX jobs_due_idx ON :SCHEMA:.jobs (scope, next_due_at) WHERE enabled;

CREATE TABLE :SCHEMA:.runs (
  run_id              uuid PRIMARY KEY,
  scope               text NOT NULL,
  job_id              text NOT NULL,
  scheduled_for       timestamptz NOT NULL,
  trigger_source      text NOT NULL,
  attempt             integer NOT NULL DEFAULT 1,
  status              text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'dead', 'timed_out', 'expired', 'missed', 'skipped', 'cancelled')),
  params              jsonb NOT NULL DEFAULT '{}'::jsonb,
  epoch               integer NOT NULL,
  stale_at            timestamptz,
  available_at        timestamptz NOT NULL,
  lease_until         timestamptz,
  worker_id           text,
  started_at          timestamptz,
  finished_at         timestamptz,
  error               text,
  published_at        timestamptz,
  cancel_requested_at timestamptz,
  created_at          timestamptz NOT NULL,
  -- Earlier attempts, oldest first (AttemptRecord as JSON).
  attempts            jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- A slot runs at most once: a second leader's insert of the same slot is a no-op.
  CONSTRAINT runs_slot_key UNIQUE (scope, job_id, scheduled_for)
);

-- The outbox: pending runs whose trigger was never published.
CREATE INDEX runs_outbox_idx ON :SCHEMA:.runs (scope, created_at) WHERE status = 'pending' AND published_at IS NULL;
-- The reaper: running runs by lease expiry.
CREATE INDEX runs_lease_idx ON :SCHEMA:.runs (scope, lease_until) WHERE status = 'running';
-- Run history per job, newest first.
CREATE INDEX runs_history_idx ON :SCHEMA:.runs (scope, job_id, created_at DESC);
-- Overlap counting and broken-chain detection: live runs per job.
CREATE INDEX runs_active_idx ON :SCHEMA:.runs (scope, job_id, status) WHERE status IN ('pending', 'running');

-- One leadership lease per scope, taken by CAS under pg_advisory_xact_lock.
CREATE TABLE :SCHEMA:.leases (
  scope       text PRIMARY KEY,
  holder      text,
  -- Bumped whenever the holder changes; every tick transaction checks it (fencing).
  fence_epoch bigint NOT NULL DEFAULT 1,
  expires_at  timestamptz NOT NULL,
  acquired_at timestamptz NOT NULL
);

-- Control actions (create, update, pause, run-now …), newest last.
CREATE TABLE :SCHEMA:.audit (
  id      bigserial PRIMARY KEY,
  scope   text NOT NULL,
  job_id  text NOT NULL,
  action  text NOT NULL,
  actor   text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  at      timestamptz NOT NULL
);

CREATE INDEX audit_scope_idx ON :SCHEMA:.audit (scope, job_id, id DESC);
