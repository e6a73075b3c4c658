/**
 * Every statement PgStore runs, named, for one schema. Parameterised only; the schema is
 * the one identifier interpolated, quoted (and validated by parseSchemaName before).
 * Batches travel as parallel arrays through `unnest`, so a batch is one statement.
 */
import { CONFIG_COLUMNS } from './rows.js';

const configCols = CONFIG_COLUMNS.map((c) => c.column).join(', ');
/** `$3::text, $4::jsonb, …` for the config columns starting at parameter `first`. */
const configParams = (first: number) => CONFIG_COLUMNS.map((c, i) => `$${first + i}::${c.cast}`).join(', ');
const N = CONFIG_COLUMNS.length;

/** The runs table's instants. */
export const RUN_INSTANTS = [
  'scheduled_for',
  'stale_at',
  'available_at',
  'lease_until',
  'started_at',
  'finished_at',
  'published_at',
  'cancel_requested_at',
  'created_at',
];
/** Its other columns (a test holds the two lists to the table after every migration). */
export const RUN_OTHERS = [
  'run_id',
  'scope',
  'job_id',
  'trigger_source',
  'attempt',
  'status',
  'params',
  'epoch',
  'worker_id',
  'error',
  'attempts',
];
/**
 * A run's columns for the hot paths' jsonb rows (claims, completions), its instants as epoch
 * milliseconds: a row turned into JSON carries an instant as ISO text, and parsing nine of
 * them per run into Dates was a measurable share of a claim's CPU; a number is not (rows.ts
 * `date` takes both). warren writes instants in whole milliseconds, so nothing is lost.
 */
const runColumnsMs = (t: string) =>
  [...RUN_OTHERS.map((c) => `${t}.${c}`), ...RUN_INSTANTS.map((c) => `(extract(epoch FROM ${t}.${c}) * 1000)::float8 AS ${c}`)].join(', ');

/**
 * Columns of the generic run update (the values come from the caller, computed on the rows
 * it read); a statement writes a subset of them, named by a bitmask (bit i: column i).
 */
export const RUN_UPDATE_COLUMNS = [
  ['status', 'text'],
  ['attempt', 'integer'],
  ['available_at', 'timestamptz'],
  ['stale_at', 'timestamptz'],
  ['lease_until', 'timestamptz'],
  ['worker_id', 'text'],
  ['started_at', 'timestamptz'],
  ['finished_at', 'timestamptz'],
  ['error', 'text'],
  ['published_at', 'timestamptz'],
  ['cancel_requested_at', 'timestamptz'],
  ['attempts', 'jsonb'],
] as const;

export type Queries = ReturnType<typeof buildQueries>;

/**
 * The advisory locks held in exclusive mode in this database, as the signed 64-bit keys
 * `pg_advisory_lock(bigint)` takes: pg_locks splits a key into `classid` (high half) and
 * `objid` (low half), `objsubid` 1 marking the one-bigint form. A follower waiting in
 * shared mode (ShareLock) or a waiter not granted is not a holder.
 */
const HELD_ADVISORY_KEYS = `SELECT (pl.classid::int8 << 32) | pl.objid::int8 FROM pg_locks pl
  WHERE pl.locktype = 'advisory' AND pl.objsubid = 1 AND pl.granted AND pl.mode = 'ExclusiveLock'
    AND pl.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** An instance's liveness key, from the key prefix parameter ('warren:<schema>:'), its kind and id. */
const livenessKey = (prefix: string, kind: string, id: string) => `hashtextextended(${prefix} || ${kind} || ':' || ${id}, 0)`;

export function buildQueries(s: string) {
  const insertJob = `INSERT INTO ${s}.jobs (scope, job_id, ${configCols}, overridden, epoch, next_due_at, created_at, updated_at)
    VALUES ($1, $2, ${configParams(3)}, $${N + 3}::text[], 0, $${N + 4}::timestamptz, $${N + 5}::timestamptz, $${N + 5}::timestamptz)`;
  /** The runs of CTE `runs` and their jobs, one jsonb row each, tagged `run` / `job` (PgStore's taggedRows reads them). */
  const taggedJobsAndRuns = (runs: string) => `SELECT 'job' AS kind, to_jsonb(j) AS row FROM ${s}.jobs j
        WHERE (j.scope, j.job_id) IN (SELECT DISTINCT scope, job_id FROM ${runs})
      UNION ALL
      SELECT 'run' AS kind, to_jsonb(${runs}) AS row FROM ${runs}`;
  return {
    // ── jobs ──
    /** Insert, or update the keys not overridden (code sync). Params: scope, job, config…, overridden, next_due_at, now. */
    syncJob: `${insertJob}
      ON CONFLICT (scope, job_id) DO UPDATE SET
        ${CONFIG_COLUMNS.map((c) => `${c.column} = CASE WHEN '${c.key}' = ANY(jobs.overridden) THEN jobs.${c.column} ELSE EXCLUDED.${c.column} END`).join(',\n        ')},
        updated_at = EXCLUDED.updated_at
      RETURNING *`,
    /** Insert or replace every key, all overridden (control API). */
    upsertJob: `${insertJob}
      ON CONFLICT (scope, job_id) DO UPDATE SET
        ${CONFIG_COLUMNS.map((c) => `${c.column} = EXCLUDED.${c.column}`).join(', ')},
        pause_note = CASE WHEN EXCLUDED.enabled THEN NULL ELSE jobs.pause_note END,
        overridden = EXCLUDED.overridden, next_due_at = EXCLUDED.next_due_at, updated_at = EXCLUDED.updated_at
      RETURNING *`,
    /** Patch. Params: scope, job, patched keys, config…, setNext, next_due_at, bumpEpoch, now. */
    updateJob: `UPDATE ${s}.jobs SET
        ${CONFIG_COLUMNS.map((c, i) => `${c.column} = CASE WHEN '${c.key}' = ANY($3::text[]) THEN $${i + 4}::${c.cast} ELSE ${c.column} END`).join(',\n        ')},
        pause_note = CASE WHEN 'enabled' = ANY($3::text[]) AND $${CONFIG_COLUMNS.findIndex((c) => c.key === 'enabled') + 4}::boolean THEN NULL ELSE pause_note END,
        overridden = overridden || ARRAY(SELECT k FROM unnest($3::text[]) AS k WHERE k <> ALL(overridden)),
        next_due_at = CASE WHEN $${N + 4}::boolean THEN $${N + 5}::timestamptz ELSE next_due_at END,
        epoch = epoch + CASE WHEN $${N + 6}::boolean THEN 1 ELSE 0 END,
        updated_at = $${N + 7}::timestamptz
      WHERE scope = $1 AND job_id = $2
      RETURNING *`,
    /** Pause/resume. Params: scope, job, enabled, note, setNext, next_due_at, now. */
    setEnabled: `UPDATE ${s}.jobs SET
        enabled = $3::boolean,
        pause_note = CASE WHEN $3::boolean THEN NULL ELSE $4::text END,
        epoch = epoch + 1,
        next_due_at = CASE WHEN $5::boolean THEN $6::timestamptz ELSE next_due_at END,
        overridden = CASE WHEN 'enabled' = ANY(overridden) THEN overridden ELSE overridden || '{enabled}'::text[] END,
        updated_at = $7::timestamptz
      WHERE scope = $1 AND job_id = $2
      RETURNING *`,
    getJob: `SELECT * FROM ${s}.jobs WHERE scope = $1 AND job_id = $2`,
    listJobs: `SELECT * FROM ${s}.jobs WHERE scope = $1 ORDER BY job_id`,
    /** Pending runs cancelled ($4: the reason), running ones asked to stop, the job deleted (after lockJob: jobs before runs). */
    lockJob: `SELECT 1 FROM ${s}.jobs WHERE scope = $1 AND job_id = $2 FOR UPDATE`,
    lockLiveRunsOfJob: `SELECT 1 FROM ${s}.runs WHERE scope = $1 AND job_id = $2 AND status IN ('pending', 'running') ORDER BY run_id FOR UPDATE`,
    removeJob: `WITH cancelled AS (
        UPDATE ${s}.runs SET status = 'cancelled', error = $4::text, finished_at = $3::timestamptz, lease_until = NULL
        WHERE scope = $1 AND job_id = $2 AND status = 'pending' RETURNING 1
      ), asked AS (
        UPDATE ${s}.runs SET cancel_requested_at = $3::timestamptz
        WHERE scope = $1 AND job_id = $2 AND status = 'running' AND cancel_requested_at IS NULL RETURNING 1
      ), removed AS (
        DELETE FROM ${s}.jobs WHERE scope = $1 AND job_id = $2 RETURNING 1
      )
      SELECT (SELECT count(*) FROM removed)::int AS removed`,
    /**
     * After lockJob: the job's claimed-ahead slots (pending, trigger scheduler, due after $3,
     * created by $4), locked in id order; not the one at the job's (new) next_due_at while it is
     * enabled: that slot is also the new schedule's first, and its slot key could not be claimed again.
     */
    lockClaimedAhead: `SELECT 1 FROM ${s}.runs
      WHERE scope = $1 AND job_id = $2 AND status = 'pending' AND trigger_source = 'scheduler' AND scheduled_for > $3::timestamptz
        AND created_at <= $4::timestamptz
        AND NOT EXISTS (SELECT 1 FROM ${s}.jobs j WHERE j.scope = $1 AND j.job_id = $2 AND j.enabled AND j.next_due_at = scheduled_for)
      ORDER BY run_id FOR UPDATE`,
    cancelClaimedAhead: `UPDATE ${s}.runs SET status = 'cancelled', error = $4, finished_at = $5::timestamptz, lease_until = NULL
      WHERE scope = $1 AND job_id = $2 AND status = 'pending' AND trigger_source = 'scheduler' AND scheduled_for > $3::timestamptz
        AND created_at <= $5::timestamptz
        AND NOT EXISTS (SELECT 1 FROM ${s}.jobs j WHERE j.scope = $1 AND j.job_id = $2 AND j.enabled AND j.next_due_at = scheduled_for)`,
    setNextDue: `UPDATE ${s}.jobs SET next_due_at = $4::timestamptz
      WHERE scope = $1 AND job_id = $2 AND next_due_at IS NOT DISTINCT FROM $3::timestamptz`,
    /** Scheduler-mode only: a queue-mode job's next_due_at stays overdue while its link runs (brokenChains finds dead chains). */
    dueJobs: `SELECT * FROM ${s}.jobs WHERE scope = $1 AND enabled AND reschedule <> 'queue' AND next_due_at <= $2::timestamptz
      ORDER BY next_due_at, job_id LIMIT $3`,
    earliestDue: `SELECT min(next_due_at) AS at FROM ${s}.jobs WHERE scope = $1 AND enabled AND reschedule <> 'queue'`,
    brokenChains: `SELECT j.* FROM ${s}.jobs j
      WHERE j.scope = $1 AND j.enabled AND j.reschedule = 'queue' AND j.next_due_at < $2::timestamptz
        AND NOT EXISTS (SELECT 1 FROM ${s}.runs r WHERE r.scope = j.scope AND r.job_id = j.job_id AND r.status IN ('pending', 'running'))
      ORDER BY j.next_due_at, j.job_id LIMIT $3`,

    // ── slots and runs ──
    /** Fencing: the caller still holds a live lease at this epoch (FOR SHARE: a takeover waits for this tick). */
    checkFence: `SELECT 1 FROM ${s}.leases
      WHERE scope = $1 AND holder = $2 AND fence_epoch = $3::bigint AND expires_at > $4::timestamptz FOR SHARE`,
    /** CAS of many jobs' next_due_at. Params: scope, job ids, expected, next. */
    casNextDue: `UPDATE ${s}.jobs j SET next_due_at = c.next
      FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS c(job_id, expected, next)
      WHERE j.scope = $1 AND j.job_id = c.job_id AND j.next_due_at IS NOT DISTINCT FROM c.expected
      RETURNING j.job_id`,
    /** Multi-row insert; a slot or id that exists already is skipped (at most once per slot). */
    insertRuns: `INSERT INTO ${s}.runs (run_id, scope, job_id, scheduled_for, trigger_source, attempt, status, params, epoch,
        stale_at, available_at, error, finished_at, created_at)
      SELECT r.run_id, r.scope, r.job_id, r.scheduled_for, r.trigger_source, r.attempt, r.status, r.params::jsonb, r.epoch,
        r.stale_at, r.available_at, r.error, CASE WHEN r.status <> 'pending' THEN $1::timestamptz END, $1::timestamptz
      FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::integer[], $8::text[], $9::text[],
        $10::integer[], $11::timestamptz[], $12::timestamptz[], $13::text[]) WITH ORDINALITY
        AS r(run_id, scope, job_id, scheduled_for, trigger_source, attempt, status, params, epoch, stale_at, available_at, error, ord)
      ORDER BY r.ord
      ON CONFLICT DO NOTHING
      RETURNING *`,
    unpublishedRuns: `SELECT * FROM ${s}.runs
      WHERE scope = $1 AND status = 'pending' AND published_at IS NULL AND created_at < $2::timestamptz
      ORDER BY created_at, run_id LIMIT $3`,
    /** The outbox plus the backstop ($4): pending runs published and available before it, never claimed. */
    unpublishedOrLostRuns: `SELECT * FROM (
        (SELECT * FROM ${s}.runs
          WHERE scope = $1 AND status = 'pending' AND published_at IS NULL AND created_at < $2::timestamptz
          ORDER BY created_at, run_id LIMIT $3)
        UNION ALL
        (SELECT * FROM ${s}.runs
          WHERE scope = $1 AND status = 'pending' AND published_at < $4::timestamptz AND available_at < $4::timestamptz
          ORDER BY created_at, run_id LIMIT $3)
      ) o ORDER BY created_at, run_id LIMIT $3`,
    /** Keyed by (run id, attempt) and still pending: a late mark never stamps a retry reset meanwhile. */
    markPublished: `UPDATE ${s}.runs r SET published_at = $3::timestamptz
      FROM unnest($1::uuid[], $2::integer[]) AS m(run_id, attempt)
      WHERE r.run_id = m.run_id AND r.attempt = m.attempt AND r.status = 'pending'`,
    /**
     * The jobs of the given runs. Those with an overlap limit are locked in key order, so
     * concurrent claimers of one job serialise (race-free overlap counting) and never
     * deadlock; `allowAll` jobs are only read, so a hot unlimited job does not serialise its
     * workers. A job whose lock re-check drops it (its policy just changed) is still returned.
     */
    jobsOfRuns: `WITH k AS (SELECT DISTINCT scope, job_id FROM ${s}.runs WHERE run_id = ANY($1::uuid[])),
      locked AS (
        SELECT j.* FROM ${s}.jobs j JOIN k ON j.scope = k.scope AND j.job_id = k.job_id
        WHERE j.overlap <> 'allowAll' ORDER BY j.scope, j.job_id FOR UPDATE OF j
      )
      SELECT * FROM locked
      UNION ALL
      SELECT j.* FROM ${s}.jobs j JOIN k ON j.scope = k.scope AND j.job_id = k.job_id
      WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.scope = j.scope AND l.job_id = j.job_id)`,
    /** The requested runs plus the running runs of the given jobs (overlap), locked in id order. */
    lockRuns: `SELECT * FROM ${s}.runs
      WHERE run_id = ANY($1::uuid[])
         OR (status = 'running' AND (scope, job_id) IN (SELECT * FROM unnest($2::text[], $3::text[])))
      ORDER BY run_id FOR UPDATE`,
    /**
     * jobsOfRuns and then the requested runs locked in id order, in one round trip (rows as
     * jsonb, tagged). The UNION ALL's branches run in order, so the jobs are locked before the
     * runs (the lock order every writer follows). With $2 (a claim) and a job with an overlap
     * limit among them, no run is locked here: one snapshot serves the whole statement, so the
     * running runs of a job whose lock was waited for could be missed; the caller takes them
     * with lockRuns (a later statement), and all its runs in one id order.
     */
    lockJobsAndRuns: `WITH k AS (SELECT DISTINCT scope, job_id FROM ${s}.runs WHERE run_id = ANY($1::uuid[])),
      locked AS MATERIALIZED (
        SELECT j.* FROM ${s}.jobs j JOIN k ON j.scope = k.scope AND j.job_id = k.job_id
        WHERE j.overlap <> 'allowAll' ORDER BY j.scope, j.job_id FOR UPDATE OF j
      ),
      jobs AS MATERIALIZED (
        SELECT * FROM locked
        UNION ALL
        SELECT j.* FROM ${s}.jobs j JOIN k ON j.scope = k.scope AND j.job_id = k.job_id
        WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.scope = j.scope AND l.job_id = j.job_id)
      ),
      runs AS MATERIALIZED (
        SELECT ${runColumnsMs('r')} FROM ${s}.runs r
        WHERE r.run_id = ANY($1::uuid[]) AND NOT ($2::boolean AND EXISTS (SELECT 1 FROM jobs WHERE jobs.overlap <> 'allowAll'))
        ORDER BY r.run_id FOR UPDATE OF r
      )
      SELECT 'job' AS kind, to_jsonb(jobs) AS row FROM jobs
      UNION ALL
      SELECT 'run' AS kind, to_jsonb(runs) AS row FROM runs`,
    /**
     * The straight claim, one autocommit statement: claims each requested run that decide.ts's
     * planClaims would claim as it stands — pending at the requested attempt, of a job without
     * an overlap limit at the run's epoch (or a manual run), not past its stale deadline at
     * `now`, available by the requested start — writing what planClaims writes (running, the
     * lease, the worker, started at the start, no cancel request). A row written meanwhile is
     * re-checked on its new version (the conditions are the UPDATE's own). The runs are reached
     * by their ids (`= ANY`), never through their job: a join on the job let the planner walk
     * every pending run of a hot job (the job check is a subplan per run: `OFFSET 0` keeps
     * Postgres from turning it into that join), and `IS TRUE` keeps the status test from being
     * an index condition (the partial index of active runs would be ANDed in, reading every
     * pending run). So the rows are reached through the primary key alone. Params: run ids
     * (unique), attempts, starts (epoch ms, clamped as
     * planClaims clamps them), now (epoch ms), lease end (epoch ms), worker id. Returns the
     * runs claimed, with their new row versions, and their jobs, tagged like
     * readJobsAndRuns; any other request goes through the locked claim.
     */
    claimStraight: `WITH w AS (
        UPDATE ${s}.runs r SET status = 'running', lease_until = to_timestamp($5::float8 / 1000), worker_id = $6::text,
          started_at = to_timestamp(q.starts_at / 1000), cancel_requested_at = NULL
        FROM unnest($1::uuid[], $2::integer[], $3::float8[]) AS q(run_id, attempt, starts_at)
        WHERE r.run_id = ANY($1::uuid[]) AND r.run_id = q.run_id
          AND (r.status = 'pending') IS TRUE AND r.attempt = q.attempt
          AND (r.stale_at IS NULL OR $4::float8 <= extract(epoch FROM r.stale_at) * 1000)
          AND extract(epoch FROM r.available_at) * 1000 <= q.starts_at
          AND EXISTS (
            SELECT 1 FROM ${s}.jobs j WHERE j.scope = r.scope AND j.job_id = r.job_id AND j.overlap = 'allowAll'
              AND (r.epoch = j.epoch OR r.trigger_source = 'manual')
            OFFSET 0
          )
        RETURNING ${runColumnsMs('r')}, r.xmin::text AS row_version
      )
      ${taggedJobsAndRuns('w')}`,
    /**
     * The optimistic completion's read: the requested runs with their row version (xmin) and
     * their jobs, unlocked, outside any transaction (rows as jsonb, tagged, like lockJobsAndRuns).
     */
    readJobsAndRuns: `WITH runs AS MATERIALIZED (
        SELECT ${runColumnsMs('r')}, r.xmin::text AS row_version FROM ${s}.runs r WHERE r.run_id = ANY($1::uuid[])
      )
      ${taggedJobsAndRuns('runs')}`,
    /** Extends the leases of runs this worker holds, locked in id order. */
    heartbeat: `WITH held AS (
        SELECT run_id FROM ${s}.runs WHERE run_id = ANY($1::uuid[]) AND status = 'running' AND worker_id = $2
        ORDER BY run_id FOR UPDATE
      )
      UPDATE ${s}.runs r SET lease_until = $3::timestamptz FROM held WHERE r.run_id = held.run_id
      RETURNING r.run_id, r.cancel_requested_at`,
    expiredLeases: `SELECT * FROM ${s}.runs WHERE scope = $1 AND status = 'running' AND lease_until < $2::timestamptz
      ORDER BY lease_until, run_id LIMIT $3`,
    /**
     * The leader's liveness pass, one statement (docs/reliability.md). Params: scope, key
     * prefix, now, now - grace, limit. Per liveness row: is its lock held now (\`live\`)?
     * Note since when it is absent while \`holding\` (cleared otherwise); delete the rows of
     * instances gone for good (absent past the grace, or let go, with no running run / no
     * lease left); return this scope's running runs of workers absent past the grace. No row
     * is both noted and deleted: a deleted row's absent_since is already set (or null and
     * not holding), so the note would not change it.
     */
    deadWorkerRuns: `WITH held AS MATERIALIZED (${HELD_ADVISORY_KEYS}),
      w AS MATERIALIZED (
        SELECT i.kind, i.instance_id, i.holding, i.absent_since,
          ${livenessKey('$2::text', 'i.kind', 'i.instance_id')} IN (SELECT * FROM held) AS live
        FROM ${s}.liveness i
      ),
      noted AS (
        UPDATE ${s}.liveness i SET absent_since = CASE WHEN w.holding AND NOT w.live THEN coalesce(w.absent_since, $3::timestamptz) END
        FROM w
        WHERE i.kind = w.kind AND i.instance_id = w.instance_id
          AND i.absent_since IS DISTINCT FROM (CASE WHEN w.holding AND NOT w.live THEN coalesce(w.absent_since, $3::timestamptz) END)
        RETURNING 1
      ),
      swept AS (
        DELETE FROM ${s}.liveness i USING w
        WHERE i.kind = w.kind AND i.instance_id = w.instance_id AND NOT w.live
          AND (NOT w.holding OR w.absent_since <= $4::timestamptz)
          AND (i.kind <> 'worker' OR NOT EXISTS (SELECT 1 FROM ${s}.runs r WHERE r.status = 'running' AND r.worker_id = i.instance_id))
          AND (i.kind <> 'scheduler' OR NOT EXISTS (SELECT 1 FROM ${s}.leases l WHERE l.holder = i.instance_id))
        RETURNING 1
      )
      SELECT r.* FROM ${s}.runs r JOIN w ON w.kind = 'worker' AND w.instance_id = r.worker_id
      WHERE r.scope = $1 AND r.status = 'running' AND w.holding AND NOT w.live AND w.absent_since <= $4::timestamptz
      ORDER BY r.started_at, r.run_id LIMIT $5`,
    /**
     * In the completing transaction, the workers a liveness reap may still act on: row says
     * holding, absent since the reaper's cutoff or earlier, lock still absent. Locked, so the
     * worker's own "I let go" / "I am back" write waits for the verdict. Params: worker ids,
     * cutoffs, key prefix.
     */
    goneWorkers: `SELECT i.instance_id FROM ${s}.liveness i
        JOIN unnest($1::text[], $2::timestamptz[]) AS g(instance_id, cutoff) ON g.instance_id = i.instance_id
      WHERE i.kind = 'worker' AND i.holding AND i.absent_since <= g.cutoff
        AND ${livenessKey('$3::text', "'worker'", 'i.instance_id')} NOT IN (${HELD_ADVISORY_KEYS})
      ORDER BY i.instance_id
      FOR UPDATE OF i`,
    countRunning: `SELECT count(*)::int AS n FROM ${s}.runs
      WHERE scope = $1 AND job_id = $2 AND status = 'running' AND lease_until > $3::timestamptz`,
    /** Overlap counts of many jobs at once (the tick). Params: scope, job ids, now. */
    runningCounts: `SELECT job_id,
        count(*) FILTER (WHERE status = 'running' AND lease_until > $3::timestamptz)::int AS running,
        count(*) FILTER (WHERE status = 'pending')::int AS pending
      FROM ${s}.runs
      WHERE scope = $1 AND job_id = ANY($2::text[]) AND status IN ('pending', 'running')
      GROUP BY job_id`,
    /**
     * Status-line counts of many jobs (the control API's list). Params: scope, job ids, now,
     * how many recent runs, failure statuses. Each subquery walks one index (active, history).
     */
    runSummaries: `SELECT j.job_id,
        (SELECT count(*) FROM ${s}.runs r
          WHERE r.scope = $1 AND r.job_id = j.job_id AND r.status = 'running' AND r.lease_until > $3::timestamptz)::int AS running,
        (SELECT count(*) FROM (
            SELECT r.status FROM ${s}.runs r WHERE r.scope = $1 AND r.job_id = j.job_id
            ORDER BY r.created_at DESC, r.scheduled_for DESC, r.run_id LIMIT $4
          ) recent WHERE recent.status = ANY($5::text[]))::int AS recent_failures
      FROM unnest($2::text[]) AS j(job_id)`,
    getRun: `SELECT * FROM ${s}.runs WHERE run_id = $1::uuid`,
    listRuns: `SELECT * FROM ${s}.runs
      WHERE scope = $1 AND ($2::text IS NULL OR job_id = $2) AND ($3::text[] IS NULL OR status = ANY($3::text[]))
      ORDER BY created_at DESC, scheduled_for DESC, run_id LIMIT $4`,

    // ── retention (docs/retention.md) ──
    /**
     * Per job id with runs in the scope (a skip scan of runs_history_idx, so removed jobs are
     * found without reading every row), the prune cutoff: the later of now - maxAge and the
     * creation of the keepLast-th newest run, capped at the newest run's creation (the last
     * run stays). A job's own policy overrides the defaults key by key (a key present with
     * JSON null lifts that limit).
     *
     * The keepLast-th newest comes from the job's retention mark (the last cutoff, the runs
     * at or after it, the newest run then): the runs created since are counted, and the new
     * keepLast-th newest is that many entries further on from the mark ('walk'), or, with
     * fewer than keepLast runs since the mark, the age limit binds ('below'). Either reads
     * about as many index entries as runs were added (and pruned) since the last pass. No
     * mark, or one that cannot answer (keepLast raised, the clock moved back): the old full
     * read of min(keepLast, runs within maxAge) entries ('recount'). The statement writes
     * every job's new mark (the cutoff and the runs at or after it; '-infinity' and all runs
     * when there is no cutoff). A run inserted later with an older creation than the mark's
     * newest is not counted: the count errs low, which keeps more, never fewer.
     * Run with JIT off (retentionJitOff): estimates of per-job subqueries grow with the scope,
     * and past jit_above_cost compiling them took seconds (a draft of this statement: 7.5 s
     * of 7.7 s at 200,000 rows), far longer than running them.
     * Params: scope, default max age ms, default keepLast, now.
     */
    retentionJitOff: `SET LOCAL jit = off`,
    retentionCutoffs: `WITH RECURSIVE ids AS (
        (SELECT r.job_id FROM ${s}.runs r WHERE r.scope = $1 ORDER BY r.job_id LIMIT 1)
        UNION ALL
        SELECT (SELECT r.job_id FROM ${s}.runs r WHERE r.scope = $1 AND r.job_id > ids.job_id ORDER BY r.job_id LIMIT 1)
        FROM ids WHERE ids.job_id IS NOT NULL
      ), p AS (
        SELECT q.job_id, q.keep_last, m.mark_at, m.mark_count, m.seen_at,
          CASE WHEN q.max_age_ms IS NOT NULL THEN $4::timestamptz - q.max_age_ms * interval '1 millisecond' END AS age_at,
          (SELECT max(r.created_at) FROM ${s}.runs r WHERE r.scope = $1 AND r.job_id = q.job_id) AS newest
        FROM (
          SELECT ids.job_id,
            CASE WHEN j.retention ? 'maxAgeMs' THEN (j.retention->>'maxAgeMs')::bigint ELSE $2::bigint END AS max_age_ms,
            CASE WHEN j.retention ? 'keepLast' THEN (j.retention->>'keepLast')::bigint ELSE $3::bigint END AS keep_last
          FROM ids LEFT JOIN ${s}.jobs j ON j.scope = $1 AND j.job_id = ids.job_id
          WHERE ids.job_id IS NOT NULL
        ) q
        LEFT JOIN ${s}.retention_marks m ON m.scope = $1 AND m.job_id = q.job_id
      ), i AS MATERIALIZED (
        -- The runs at or after the mark now: the mark's count plus the runs created since.
        SELECT p.*, CASE WHEN p.keep_last IS NOT NULL AND p.mark_at IS NOT NULL THEN p.mark_count
            + (SELECT count(*) FROM ${s}.runs r WHERE r.scope = $1 AND r.job_id = p.job_id AND r.created_at > p.seen_at) END AS counted
        FROM p
      ), w AS MATERIALIZED (
        SELECT i.*, CASE
            WHEN i.keep_last IS NULL THEN 'none'
            WHEN i.counted IS NULL THEN 'recount'
            WHEN i.counted >= i.keep_last THEN 'walk'
            WHEN i.mark_at = '-infinity' OR i.age_at >= i.mark_at THEN 'below'
            ELSE 'recount' END AS how,
          CASE WHEN i.counted >= i.keep_last THEN (SELECT r.created_at FROM ${s}.runs r
              WHERE r.scope = $1 AND r.job_id = i.job_id AND r.created_at >= i.mark_at
              ORDER BY r.created_at OFFSET i.counted - i.keep_last LIMIT 1) END AS walk_at
        FROM i
      ), k AS MATERIALIZED (
        -- A walk past the end means the count ran high (runs deleted outside retention): count again.
        SELECT w.job_id, w.keep_last, w.age_at, w.newest, w.mark_at, w.counted, w.walk_at,
          CASE WHEN w.how = 'walk' AND w.walk_at IS NULL THEN 'recount' ELSE w.how END AS how
        FROM w
      ), rc AS MATERIALIZED (
        -- The full count: the keepLast newest runs younger than the age limit (an index
        -- condition: past it, the age limit binds anyway), how many there are and the oldest.
        SELECT k.*, t.n AS recount_n, t.oldest AS recount_at
        FROM k LEFT JOIN LATERAL (
          SELECT count(*) AS n, min(x.created_at) AS oldest FROM (
            SELECT r.created_at FROM ${s}.runs r
            WHERE k.how = 'recount' AND r.scope = $1 AND r.job_id = k.job_id
              AND r.created_at >= coalesce(k.age_at, '-infinity'::timestamptz)
            ORDER BY r.created_at DESC LIMIT k.keep_last) x
        ) t ON true
      ), c AS (
        SELECT rc.*, CASE rc.how
            WHEN 'walk' THEN greatest(rc.age_at, rc.walk_at)
            WHEN 'recount' THEN greatest(rc.age_at, CASE WHEN rc.recount_n >= rc.keep_last THEN rc.recount_at END)
            ELSE rc.age_at END AS limit_at
        FROM rc
      ), b AS (
        -- least() skips NULLs: no limit is no cutoff, not the newest run.
        SELECT c.*, CASE WHEN c.limit_at IS NOT NULL THEN least(c.limit_at, c.newest) END AS before FROM c
      ), n AS (
        SELECT c.*, coalesce(c.before, CASE WHEN c.how IN ('walk', 'below') THEN c.mark_at END, '-infinity'::timestamptz) AS new_at
        FROM b c
      ), marks AS (
        INSERT INTO ${s}.retention_marks AS m (scope, job_id, mark_at, mark_count, seen_at)
        SELECT $1, n.job_id, n.new_at, greatest(0, CASE WHEN n.how IN ('walk', 'below')
            THEN n.counted - (SELECT count(*) FROM ${s}.runs r
              WHERE r.scope = $1 AND r.job_id = n.job_id AND r.created_at >= n.mark_at AND r.created_at < n.new_at)
            -- Fewer than keepLast younger than the age limit, and the mark at it: those are the count.
            WHEN n.recount_n < n.keep_last AND n.new_at = coalesce(n.age_at, '-infinity'::timestamptz) THEN n.recount_n
            ELSE (SELECT count(*) FROM ${s}.runs r WHERE r.scope = $1 AND r.job_id = n.job_id AND r.created_at >= n.new_at) END),
          n.newest
        FROM n WHERE n.how <> 'none'
        ON CONFLICT (scope, job_id) DO UPDATE SET mark_at = excluded.mark_at, mark_count = excluded.mark_count, seen_at = excluded.seen_at
      ), unmarked AS (
        -- No keepLast: nothing to count, and the mark would go stale.
        DELETE FROM ${s}.retention_marks m USING n WHERE m.scope = $1 AND m.job_id = n.job_id AND n.how = 'none'
      )
      SELECT n.job_id, n.before FROM n
      WHERE n.before IS NOT NULL
        AND EXISTS (SELECT 1 FROM ${s}.runs r WHERE r.scope = $1 AND r.job_id = n.job_id AND r.created_at < n.before)
      ORDER BY n.job_id`,
    /**
     * One retention batch: per job (runs_history_idx, oldest first) the runs before its
     * cutoff that may go, at most $4 in all, locked SKIP LOCKED (a batch never waits on a
     * claim or a completion), then deleted. Never pending or running; never the run a chain
     * still points at (scheduled for its job's next_due_at: the reseed reads it). Params:
     * scope, job ids, cutoffs, limit.
     */
    pruneRuns: `WITH c AS (SELECT * FROM unnest($2::text[], $3::timestamptz[]) AS c(job_id, before)),
      victims AS (
        SELECT v.run_id FROM c CROSS JOIN LATERAL (
          SELECT r.run_id FROM ${s}.runs r
          WHERE r.scope = $1 AND r.job_id = c.job_id AND r.created_at < c.before
            AND r.status NOT IN ('pending', 'running') AND coalesce(r.finished_at, r.created_at) < c.before
            AND NOT EXISTS (SELECT 1 FROM ${s}.jobs j WHERE j.scope = r.scope AND j.job_id = r.job_id AND j.next_due_at = r.scheduled_for)
          ORDER BY r.created_at
          LIMIT $4
          FOR UPDATE OF r SKIP LOCKED
        ) v
        LIMIT $4
      ), gone AS (
        DELETE FROM ${s}.runs r USING victims v WHERE r.run_id = v.run_id AND r.status NOT IN ('pending', 'running')
        RETURNING r.job_id, r.created_at
      ), marked AS (
        -- Runs at or after a job's retention mark (a cutoff later than the last pass's) leave its count.
        UPDATE ${s}.retention_marks m SET mark_count = greatest(0, m.mark_count - g.n)
        FROM (SELECT gone.job_id, count(*) AS n FROM gone JOIN ${s}.retention_marks k
            ON k.scope = $1 AND k.job_id = gone.job_id AND gone.created_at >= k.mark_at GROUP BY gone.job_id) g
        WHERE m.scope = $1 AND m.job_id = g.job_id
      )
      SELECT job_id, count(*)::int AS n FROM gone GROUP BY job_id`,

    // ── leadership ──
    leaderLock: `SELECT pg_advisory_xact_lock($1::bigint)`,
    /**
     * Take (free, expired, or its holder's liveness lock gone while its row says it took it)
     * or renew (ours) the lease; the epoch moves when the holder changes. Params: scope,
     * instance, expires_at, now, liveness key prefix.
     */
    acquireLease: `INSERT INTO ${s}.leases AS l (scope, holder, fence_epoch, expires_at, acquired_at)
      VALUES ($1, $2, 1, $3::timestamptz, $4::timestamptz)
      ON CONFLICT (scope) DO UPDATE SET
        holder = EXCLUDED.holder,
        fence_epoch = CASE WHEN l.holder IS NOT DISTINCT FROM EXCLUDED.holder THEN l.fence_epoch ELSE l.fence_epoch + 1 END,
        acquired_at = CASE WHEN l.holder IS NOT DISTINCT FROM EXCLUDED.holder THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
        expires_at = EXCLUDED.expires_at
      WHERE l.holder IS NOT DISTINCT FROM EXCLUDED.holder OR l.holder IS NULL OR l.expires_at <= EXCLUDED.acquired_at
        OR (EXISTS (SELECT 1 FROM ${s}.liveness i WHERE i.kind = 'scheduler' AND i.instance_id = l.holder AND i.holding)
          AND ${livenessKey('$5::text', "'scheduler'", 'l.holder')} NOT IN (${HELD_ADVISORY_KEYS}))
      RETURNING scope, holder, fence_epoch::text AS fence_epoch, expires_at`,
    getLease: `SELECT scope, holder, fence_epoch::text AS fence_epoch, CASE WHEN isfinite(expires_at) THEN expires_at END AS expires_at
      FROM ${s}.leases WHERE scope = $1`,
    /** Gives the lease up at once: no holder, expired (the epoch stays, so the next holder bumps it). */
    releaseLease: `UPDATE ${s}.leases SET holder = NULL, expires_at = '-infinity' WHERE scope = $1 AND holder = $2`,

    // ── liveness (the dedicated connection's statements, and the pool's) ──
    /** Never blocks: a lock held elsewhere (a duplicate id, our own dead session not yet closed) is retried later. */
    livenessLock: `SELECT pg_try_advisory_lock(hashtextextended($1::text, 0)) AS locked`,
    /** Sent on the dedicated connection once its lock is taken. Params: kind, instance. */
    livenessHold: `INSERT INTO ${s}.liveness (kind, instance_id, holding, absent_since) VALUES ($1, $2, true, NULL)
      ON CONFLICT (kind, instance_id) DO UPDATE SET holding = true, absent_since = NULL`,
    /** Sent through the pool when the dedicated connection dropped: "not provably alive, use my lease". */
    livenessLetGo: `UPDATE ${s}.liveness SET holding = false, absent_since = NULL WHERE kind = $1 AND instance_id = $2`,
    livenessLockTimeout: `SELECT set_config('lock_timeout', $1::text, true)`,
    livenessRegistered: `SELECT holding FROM ${s}.liveness WHERE kind = $1 AND instance_id = $2`,
    /** Waits until the exclusive holder is gone; shared, so waiters never look like holders. */
    livenessAwait: `SELECT pg_advisory_xact_lock_shared(hashtextextended($1::text, 0))`,

    // ── audit and notification ──
    appendAudit: `INSERT INTO ${s}.audit (scope, job_id, action, actor, details, at) VALUES ($1, $2, $3, $4, $5::jsonb, $6::timestamptz)`,
    listAudit: `SELECT * FROM ${s}.audit WHERE scope = $1 AND ($2::text IS NULL OR job_id = $2) ORDER BY id DESC LIMIT $3`,
    notify: `SELECT pg_notify($1, $2)`,
  };
}

export type RunUpdates = ReturnType<typeof buildRunUpdates>;

/**
 * The generic run update's statements for one column set, `mask` (bit i: RUN_UPDATE_COLUMNS[i],
 * at least one): a batch writes only the columns some run of it changes (a claim leaves the
 * attempt history alone), PgStore building and naming each set once. Params: run ids, then
 * one array literal per column of the set in RUN_UPDATE_COLUMNS order (k of them), then the
 * statement's own from k + 2. Instants travel as epoch milliseconds (float8): formatting
 * each Date as text was a measurable share of the worker's CPU at thousands of runs/s;
 * to_timestamp keeps the millisecond exactly.
 */
export function buildRunUpdates(s: string, mask: number) {
  const columns = RUN_UPDATE_COLUMNS.filter((_, i) => (mask & (1 << i)) !== 0);
  const k = columns.length;
  const array = (cast: string) => (cast === 'jsonb' ? 'text' : cast === 'timestamptz' ? 'float8' : cast);
  const arrays = columns.map(([, cast], i) => `$${i + 2}::${array(cast)}[]`).join(', ');
  const names = columns.map(([name]) => name).join(', ');
  const value = (name: string, cast: string) =>
    cast === 'jsonb' ? `u.${name}::jsonb` : cast === 'timestamptz' ? `to_timestamp(u.${name} / 1000)` : `u.${name}`;
  const sets = columns.map(([name, cast]) => `${name} = ${value(name, cast)}`).join(', ');
  /**
   * CTEs `ju`, `l`, `jw`: after completions, the last run per job and a chain's next_due_at
   * (params from `first`: scopes, job ids, last run at, last status, set next, next due),
   * when `cond`. The job rows are locked in key order (no deadlock between completers).
   */
  const jobsAfterRuns = (first: number, cond: string) => `ju AS (
        SELECT * FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::timestamptz[], $${first + 3}::text[],
          $${first + 4}::boolean[], $${first + 5}::timestamptz[]) AS ju(scope, job_id, last_run_at, last_status, set_next, next_due_at)
      ), l AS (
        SELECT j.scope, j.job_id FROM ${s}.jobs j JOIN ju ON j.scope = ju.scope AND j.job_id = ju.job_id
        WHERE ${cond}
        ORDER BY j.scope, j.job_id FOR NO KEY UPDATE OF j
      ), jw AS (
        UPDATE ${s}.jobs j SET
          last_run_at = coalesce(ju.last_run_at, j.last_run_at),
          last_status = coalesce(ju.last_status, j.last_status),
          next_due_at = CASE WHEN ju.set_next THEN ju.next_due_at ELSE j.next_due_at END
        FROM ju JOIN l ON l.scope = ju.scope AND l.job_id = ju.job_id
        WHERE j.scope = ju.scope AND j.job_id = ju.job_id
      )`;
  /** One boolean `ok`: every job given (params from `first`: scopes, ids, epochs) still at that epoch, without an overlap limit. */
  const jobsUnchanged = (first: number) => `SELECT count(*) = cardinality($${first}::text[]) AS ok FROM ${s}.jobs j
          JOIN unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::integer[]) AS k(scope, job_id, epoch)
            ON j.scope = k.scope AND j.job_id = k.job_id AND j.epoch = k.epoch
        WHERE j.overlap = 'allowAll'`;
  /** The run update's head, up to its join condition; `extra` adds arrays (params from k + 2) and their names. */
  const runUpdate = (extraArrays = '', extraNames = '') => `UPDATE ${s}.runs r SET ${sets}
      FROM unnest($1::uuid[], ${arrays}${extraArrays}) AS u(run_id, ${names}${extraNames})
      WHERE r.run_id = u.run_id`;

  return {
    /**
     * Writes new values computed on locked rows. Params: run ids, then one array per
     * column of the set. Returns only the ids: the rows are locked, so what was written is
     * what the caller computed (sending every column back only to parse it again is avoidable
     * work on the hot path).
     */
    updateRuns: `${runUpdate()} RETURNING r.run_id`,
    /**
     * updateRuns, then after completions the last run per job and a chain's next_due_at, in
     * one statement (a round trip less per completion batch). Params: updateRuns', then
     * scopes, job ids, last run at, last status, set next, next due. The job rows are locked
     * in key order (no deadlock between completers); the runs are locked already.
     */
    updateRunsAndJobs: `WITH w AS (${runUpdate()} RETURNING r.run_id),
      ${jobsAfterRuns(k + 2, 'true')}
      SELECT run_id FROM w`,
    /**
     * The optimistic completion's write, one autocommit statement, all or nothing: every run
     * still the version the plan read (locked here, in id order, and re-checked on a new
     * version if one was waited for) and every job still at its epoch without an overlap
     * limit, then updateRunsAndJobs. Runs before jobs, as the locked completion of such jobs
     * (their claims never lock the job). Params: updateRuns', row versions, the jobs
     * (scopes, ids, epochs), then updateRunsAndJobs' job arrays. Returns no row when the
     * check failed: the caller completes the batch through the locked path.
     */
    updateRunsAndJobsIfUnchanged: `WITH cur AS MATERIALIZED (
        SELECT r.run_id FROM ${s}.runs r
          JOIN unnest($1::uuid[], $${k + 2}::xid[]) AS v(run_id, row_version) ON r.run_id = v.run_id AND r.xmin = v.row_version
        ORDER BY r.run_id FOR UPDATE OF r
      ),
      ok AS MATERIALIZED (
        SELECT (SELECT count(*) FROM cur) = cardinality($1::uuid[]) AND (${jobsUnchanged(k + 3)}) AS ok
      ),
      w AS (${runUpdate()} AND (SELECT ok FROM ok) RETURNING r.run_id),
      ${jobsAfterRuns(k + 6, '(SELECT ok FROM ok)')}
      SELECT run_id FROM w`,
  };
}
