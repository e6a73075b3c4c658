-- warren schema, version 3. Immutable once released: append a new numbered file instead.
-- Liveness: a worker or scheduler instance proves it is alive with a session-level advisory
-- lock on one dedicated connection, keyed hashtextextended('warren:<schema>:<kind>:<id>', 0);
-- the server releases it the moment that connection's socket closes. A row here says the
-- instance took its lock, so the lock's absence means a dead process, not an instance that
-- never had liveness (PgBouncer in transaction mode, `liveness: false`, an older version):
-- those keep the lease rule alone.
CREATE TABLE :SCHEMA:.liveness (
  kind         text NOT NULL CHECK (kind IN ('worker', 'scheduler')),
  instance_id  text NOT NULL,
  -- The instance holds its lock (set once it is taken; cleared by the instance itself when
  -- its liveness connection drops, so a live instance reconnecting is not taken for dead).
  holding      boolean NOT NULL,
  -- When the leader first saw the lock absent while `holding`: the grace runs from here.
  absent_since timestamptz,
  PRIMARY KEY (kind, instance_id)
);
