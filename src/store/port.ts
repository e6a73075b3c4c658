/* eslint-disable @typescript-eslint/no-explicit-any -- a pg.Client of any pg version: its rows are untyped */
import type { JobConfig, JobConfigKey, TriggerSource } from '../define/types.js';

/**
 * The store port: everything the scheduler, workers and control API need from the
 * source of truth. Two implementations pass one contract suite (test/contract/store):
 * `PgStore` (PostgreSQL, through any `query(text, values)`) and `MemoryStore`
 * (`warren/testing`). Every decision that depends on time takes `now` as a parameter.
 */

export type RunStatus =
  /** inserted, waiting for a worker to claim it (also: waiting for a retry) */
  | 'pending'
  | 'running'
  | 'succeeded'
  /** failed with attempts left is `pending` again; `failed` is final without dead-lettering (cancelled by policy…) */
  | 'failed'
  /** failed its last attempt or a NonRetryableError; its message went to the dead-letter queue */
  | 'dead'
  | 'timed_out'
  /** not started before its stale-after deadline */
  | 'expired'
  /** a slot passed over by the catch-up policy */
  | 'missed'
  /** a slot passed over by the overlap policy */
  | 'skipped'
  /** stopped by pause (stale epoch), removal, or cancelOther */
  | 'cancelled';

/** Every run status, in the store's order. */
export const RUN_STATUSES: readonly RunStatus[] = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'dead',
  'timed_out',
  'expired',
  'missed',
  'skipped',
  'cancelled',
];

/** The statuses a run ends in: all but waiting and running. */
export const FINAL_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter((status) => status !== 'pending' && status !== 'running');

/** The statuses a job's status line counts as failures (`recentFailures`). */
export const FAILURE_STATUSES: readonly RunStatus[] = ['failed', 'dead', 'timed_out', 'expired'];

export interface JobRecord extends JobConfig {
  scope: string;
  jobId: string;
  /** Keys set through the control API; a code sync leaves them alone. */
  overridden: JobConfigKey[];
  pauseNote: string | null;
  /** Bumped by pause/resume and by schedule changes, so a stale queue-mode chain dies. */
  epoch: number;
  nextDueAt: Date | null;
  lastRunAt: Date | null;
  lastStatus: RunStatus | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  attempt: number;
  workerId: string | null;
  startedAt: Date | null;
  finishedAt: Date;
  status: RunStatus;
  error: string | null;
  /** For a retry: when the next attempt may start. */
  retryAt: Date | null;
}

export interface RunRecord {
  runId: string;
  scope: string;
  jobId: string;
  scheduledFor: Date;
  triggerSource: TriggerSource;
  attempt: number;
  status: RunStatus;
  params: Record<string, unknown>;
  /** The job's epoch when the run was created. */
  epoch: number;
  /** Not started by then → `expired`. */
  staleAt: Date | null;
  /** Not to be started before (retries, delayed runNow, chain links). */
  availableAt: Date;
  leaseUntil: Date | null;
  workerId: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  publishedAt: Date | null;
  cancelRequestedAt: Date | null;
  createdAt: Date;
  /** Finished attempts, oldest first (the final one too). */
  attempts: AttemptRecord[];
}

export interface NewRun {
  runId: string;
  jobId: string;
  scheduledFor: Date;
  triggerSource: TriggerSource;
  params: Record<string, unknown>;
  epoch: number;
  /** `pending` for a run to execute; `missed`, `skipped` or `expired` to record a slot not run. */
  status: 'pending' | 'missed' | 'skipped' | 'expired' | 'cancelled';
  staleAt: Date | null;
  availableAt: Date;
  /** The reason a slot was not run, for the non-pending statuses. */
  error?: string | null;
  attempt?: number;
}

/** Leader fencing: every tick transaction proves it still holds the lease. */
export interface Fence {
  instanceId: string;
  /** The lease's fencing epoch, bumped each time leadership changes hands. */
  epoch: number;
}

export interface LeadershipState {
  leader: boolean;
  fence: Fence | null;
  holder: string | null;
  expiresAt: Date | null;
  /**
   * Set by `acquireLeadership` when the lease it won was another instance's and had not
   * expired: taken because that instance's liveness lock was gone.
   */
  takenFromLiveHolder?: boolean;
}

/** One job's due-slot claim: CAS `next_due_at` from `expectedNextDueAt` to `nextDueAt`, insert `runs`. */
export interface SlotClaim {
  jobId: string;
  expectedNextDueAt: Date | null;
  nextDueAt: Date | null;
  runs: NewRun[];
}

export interface SlotClaimResult {
  /** Jobs whose CAS succeeded. */
  claimed: string[];
  /** Jobs whose `next_due_at` moved under us (another leader, a control action). */
  conflicts: string[];
  /** Rows actually inserted (a deterministic id that already existed is not returned). */
  inserted: RunRecord[];
}

/** A run trigger the broker confirmed: `markPublished` stamps only this attempt. */
export interface PublishedRun {
  runId: string;
  attempt: number;
}

export interface ClaimRequest {
  runId: string;
  attempt: number;
  /**
   * Claimed just ahead of the instant the run will start (a trigger held for its slot): the
   * run may be claimed while `availableAt` is at most this instant, and records it as its
   * start. Honoured at most CLAIM_AHEAD_MAX_MS ahead of the claim's `now`.
   */
  startAt?: Date;
}

/** How far ahead of its start a run may be claimed (ClaimRequest.startAt). */
export const CLAIM_AHEAD_MAX_MS = 1000;

export type ClaimOutcome =
  | 'claimed'
  /** no such run (deleted job, wrong scope) */
  | 'not_found'
  /** already claimed, finished, or a different attempt: a duplicate message */
  | 'duplicate'
  /** the job's epoch moved on (paused/resumed): recorded `cancelled` */
  | 'stale_epoch'
  /** past its stale-after deadline: recorded `expired` */
  | 'expired'
  /** the job is at maxParallel and its overlap policy says wait (bufferOne/bufferAll) */
  | 'busy'
  /** the job is at maxParallel and its overlap policy says skip: recorded `skipped` */
  | 'skipped'
  /** not yet available (a retry message that arrived early) */
  | 'early';

export interface ClaimResult {
  runId: string;
  outcome: ClaimOutcome;
  run: RunRecord | null;
  job: JobRecord | null;
}

export interface ClaimContext {
  now: Date;
  leaseMs: number;
  workerId: string;
}

export type CompletionGuard =
  /** normal completion by the worker that holds the lease */
  | { workerId: string }
  /** the reaper: only if the lease really expired before `now` */
  | { leaseExpiredBefore: Date }
  /**
   * the liveness reaper: only if the run is still held by `workerGone`, whose liveness row
   * still says it took its lock, seen absent since `absentBefore` or earlier, and whose
   * lock is still absent (checked in the completing transaction)
   */
  | { workerGone: string; absentBefore: Date };

export interface Completion {
  runId: string;
  attempt: number;
  guard: CompletionGuard;
  status: 'succeeded' | 'failed' | 'dead' | 'timed_out' | 'cancelled';
  error: string | null;
  finishedAt: Date;
  /** With attempts left: the run goes back to `pending` at `attempt + 1`, available at `retryAt`. */
  retryAt?: Date;
  /** Queue mode: the chain's next run, inserted in the same transaction, and the job's new next_due_at. */
  next?: { run: NewRun; nextDueAt: Date };
}

export interface CompletionResult {
  runId: string;
  /** false when the guard did not hold (lease lost, already completed): nothing was written. */
  applied: boolean;
  run: RunRecord | null;
  /** The chain link inserted by `next`, when it was. */
  nextRun: RunRecord | null;
}

export interface HeartbeatResult {
  /** Runs whose lease was extended. */
  extended: string[];
  /** Runs that must stop: cancel requested (cancelOther, removal) or lease lost. */
  cancel: string[];
}

/** A job's overlap counts (`runningCounts`). */
export interface RunCounts {
  /** Running with a live lease (lease_until > now). */
  running: number;
  /** Pending (waiting for a worker, or for a retry). */
  pending: number;
}

/** A job's status-line counts (`runSummaries`). */
export interface RunSummary {
  /** Running with a live lease (lease_until > now), as `countRunning`. */
  running: number;
  /** Runs in FAILURE_STATUSES among the job's `recent` newest runs (in `listRuns` order). */
  recentFailures: number;
}

export interface ListRunsOptions {
  jobId?: string;
  status?: RunStatus | RunStatus[];
  /** @default 50 */
  limit?: number;
}

export type AuditAction = 'create' | 'sync' | 'update' | 'remove' | 'pause' | 'resume' | 'run-now' | 'backfill' | 'upsert' | 'prune';

/** The job id of audit entries about a whole scope (a retention pass), not one job. */
export const SCOPE_AUDIT_JOB = '*';

/** The scope's history limits, for jobs whose own policy leaves a limit out (see `RetentionPolicy`). */
export interface RetentionDefaults {
  /** Runs created and finished longer ago than this may be pruned; null: no age limit. */
  maxAgeMs: number | null;
  /** At least the newest N runs of each job stay; null: no count limit. */
  keepLast: number | null;
}

/** One job's retention cutoff for a pass: its finished runs created and finished before `before` may go. */
export interface PruneCutoff {
  jobId: string;
  before: Date;
}

export interface AuditEntry {
  id: number;
  scope: string;
  jobId: string;
  action: AuditAction;
  actor: string | null;
  details: Record<string, unknown>;
  at: Date;
}

export interface NewAuditEntry {
  jobId: string;
  action: AuditAction;
  actor?: string | null;
  details?: Record<string, unknown>;
  at: Date;
}

export interface JobChange {
  scope: string;
  jobId: string;
}

/** Who holds a liveness lock: a worker instance or a scheduler instance. */
export type LivenessKind = 'worker' | 'scheduler';

/** A new, unconnected `pg.Client` (or alike): the dedicated connection of a liveness lock. */
export interface LivenessClient {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
  end(): Promise<void>;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

export interface HoldLivenessOptions {
  /**
   * Opens the dedicated connection. By default PgStore builds one with the pool's own
   * `Client` class and settings (`new pool.Client(pool.options)`), outside the pool.
   */
  createClient?: () => LivenessClient;
  /** Told when the lock is taken (`true`) and when it is lost (`false`, with the cause). */
  onChange?: (held: boolean, error?: Error) => void;
}

/** What a follower learnt while waiting on another instance's liveness lock. */
export type ReleaseOutcome =
  /** the lock was released (or was not held): the instance's process or connection is gone */
  | 'released'
  /** still held after the wait */
  | 'timeout'
  /** the instance never took a lock (no liveness), or this handle has no connection now */
  | 'unavailable';

/**
 * An instance's liveness lock, held while the handle is open and taken again (with capped,
 * jittered backoff) after its connection drops. See `Store.holdLiveness`.
 */
export interface LivenessHandle {
  /** True while the lock is held: the instance is provably alive. */
  readonly held: boolean;
  /**
   * Waits (on this handle's own connection, never a pooled one) until another instance's
   * liveness lock is released, at most `timeoutMs`.
   */
  awaitRelease(kind: LivenessKind, instanceId: string, timeoutMs: number): Promise<ReleaseOutcome>;
  /** Closes the dedicated connection: the lock goes with it, as it would with the process. */
  close(): Promise<void>;
}

/** `Store.updateJob`: `nextDueAt` replaces next_due_at when given (null included); `bumpEpoch` moves the epoch. */
export interface UpdateJobOptions {
  now: Date;
  nextDueAt?: Date | null;
  bumpEpoch?: boolean;
}

/** `Store.setEnabled`: the pause note; on resume, the next due instant. */
export interface SetEnabledOptions {
  now: Date;
  note?: string | null;
  nextDueAt?: Date | null;
}

export interface Store {
  readonly kind: 'postgres' | 'memory';

  // ── jobs ──────────────────────────────────────────────────────────────────
  /**
   * Code definitions: inserts new jobs with `nextDueAt`; for existing ones updates every
   * key that is not in `overridden` (settings changed through the control API survive a
   * restart of the code). Returns the rows as stored.
   */
  syncJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord>;
  /** Control API create-or-replace: writes every key and marks all of them overridden. */
  upsertJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord>;
  /**
   * Control API patch: writes the given keys, adds them to `overridden`. When
   * `nextDueAt` is given it replaces next_due_at; `bumpEpoch` kills a queue-mode chain.
   * Throws ERR_JOB_NOT_FOUND.
   */
  updateJob(scope: string, jobId: string, patch: Partial<JobConfig>, opts: UpdateJobOptions): Promise<JobRecord>;
  getJob(scope: string, jobId: string): Promise<JobRecord | null>;
  listJobs(scope: string): Promise<JobRecord[]>;
  /** Deletes the job; its pending runs are recorded `cancelled`. Returns false when absent. */
  removeJob(scope: string, jobId: string, now: Date): Promise<boolean>;
  /**
   * Pause (enabled=false, note) or resume (enabled=true, note cleared); both bump the epoch.
   * On resume `nextDueAt` replaces next_due_at. Throws ERR_JOB_NOT_FOUND.
   */
  setEnabled(scope: string, jobId: string, enabled: boolean, opts: SetEnabledOptions): Promise<JobRecord>;
  /**
   * Records the job's claimed-ahead slots `cancelled` with `reason`: its pending runs with
   * trigger `scheduler` scheduled after `after` and created at or before `now` (the leader
   * claims a slot a little before it is due, docs/scheduler.md). Called after a pause or a
   * schedule change, so a slot claimed under the old settings does not run; a slot the
   * leader claimed after the change (under the new settings) is left alone, and so is the
   * slot at the enabled job's (new) `next_due_at`, the new schedule's first slot as well
   * (its deterministic run id could not be claimed again). Returns how many runs it cancelled.
   */
  cancelClaimedAhead(scope: string, jobId: string, after: Date, reason: string, now: Date): Promise<number>;
  /** CAS on next_due_at; false when it was not `expected`. */
  setNextDue(scope: string, jobId: string, expected: Date | null, next: Date | null): Promise<boolean>;
  /**
   * Enabled scheduler-mode jobs with next_due_at <= before, soonest first. Queue-mode jobs are
   * left out: their next_due_at stays overdue while a link runs, so they would fill the limit
   * (starving scheduler-mode jobs) on every tick; `brokenChains` finds the chains that died.
   */
  dueJobs(scope: string, before: Date, limit: number): Promise<JobRecord[]>;
  /** Earliest next_due_at of an enabled scheduler-mode job, to sleep until (queue-mode jobs left out, as in `dueJobs`). */
  earliestDue(scope: string): Promise<Date | null>;

  // ── slots and runs ───────────────────────────────────────────────────────
  /**
   * In one transaction: check the fence (when given; ERR_NOT_LEADER when the lease moved),
   * CAS each job's next_due_at, and insert the runs of the jobs whose CAS held
   * (`ON CONFLICT DO NOTHING` on the deterministic run id and on (scope, job_id, scheduled_for)).
   */
  claimSlots(scope: string, fence: Fence | null, claims: SlotClaim[], now: Date): Promise<SlotClaimResult>;
  /** Inserts runs outside a slot claim (runNow, startup, backfill, reseed); returns those inserted. */
  insertRuns(scope: string, runs: NewRun[], now: Date): Promise<RunRecord[]>;
  /**
   * The outbox: pending runs never published, created before `createdBefore`; oldest first.
   * With `republishBefore` also the backstop: pending runs published before it and available
   * before it (their trigger was lost or dropped: nobody claimed them long after they were
   * due). Republishing stamps `published_at` again, so each is resent at most once per
   * interval; a duplicate trigger is harmless (claims are by run id and attempt).
   */
  unpublishedRuns(scope: string, createdBefore: Date, limit: number, opts?: { republishBefore?: Date }): Promise<RunRecord[]>;
  /**
   * Stamps `published_at = now` on each run that is still `pending` at that attempt. Keyed by
   * (run id, attempt): a late mark for attempt n must not stamp the retry (attempt n+1) that a
   * fast worker reset meanwhile, or the outbox would never republish the retry's trigger.
   */
  markPublished(runs: ReadonlyArray<PublishedRun>, now: Date): Promise<void>;
  /**
   * Claims many runs at once (one statement on Postgres): pending → running with a lease,
   * after checking attempt, epoch, stale-after, availability and the overlap policy.
   * Results are in request order.
   */
  claimRuns(requests: ClaimRequest[], ctx: ClaimContext): Promise<ClaimResult[]>;
  heartbeat(runIds: string[], ctx: ClaimContext): Promise<HeartbeatResult>;
  /** Records results in one transaction; a guard that fails leaves that run untouched. */
  completeRuns(completions: Completion[]): Promise<CompletionResult[]>;
  /** Running runs whose lease expired before `now`. */
  expiredLeases(scope: string, now: Date, limit: number): Promise<RunRecord[]>;
  /**
   * The leader's liveness pass. Notes, on every liveness row, since when its lock has been
   * absent while the row says `holding` (`now` at the first sighting; cleared once the lock
   * is back or the instance said it let go); deletes rows of instances gone for good
   * (lock absent past the grace, nothing left running or leading); and returns the running
   * runs of this scope whose worker's lock has been absent since `now - graceMs` or earlier.
   */
  deadWorkerRuns(scope: string, now: Date, graceMs: number, limit: number): Promise<RunRecord[]>;
  /** Queue-mode jobs that are enabled, overdue (next_due_at < before) and have no pending or running run. */
  brokenChains(scope: string, before: Date, limit: number): Promise<JobRecord[]>;
  /** Running runs of a job with a live lease (the overlap count). */
  countRunning(scope: string, jobId: string, now: Date): Promise<number>;
  /**
   * The overlap counts of many jobs in one round trip (the leader's tick): per job, its
   * running runs with a live lease (as `countRunning`) and its pending runs. Every
   * requested job id is in the map, with zeros when it has no such run (or does not exist).
   */
  runningCounts(scope: string, jobIds: string[], now: Date): Promise<Map<string, RunCounts>>;
  /**
   * The status-line counts of many jobs in one round trip (the control API's `list()`): per
   * job, its running runs with a live lease and the failures among its `recent` newest runs.
   * Every requested job id is in the map, with zeros when it has no runs (or does not exist).
   */
  runSummaries(scope: string, jobIds: string[], now: Date, recent: number): Promise<Map<string, RunSummary>>;
  getRun(runId: string): Promise<RunRecord | null>;
  listRuns(scope: string, opts?: ListRunsOptions): Promise<RunRecord[]>;

  // ── retention (docs/retention.md) ────────────────────────────────────────
  /**
   * A retention pass's first step: for each job id of the scope that has runs (a removed
   * job's too, with the defaults), the cutoff before which its runs may be pruned: the later
   * of `now - maxAge` and the creation of its `keepLast`-th newest run, never later than its
   * newest run's creation (so the last run of every job stays). The job's own `retention`
   * overrides `defaults` key by key. Jobs with no limit, or nothing before the cutoff, are
   * left out. Each call leaves every job a retention mark (its cutoff, the runs at or after
   * it, the newest run seen) and the next call counts from it, reading only the runs created
   * since: a run recorded later with an older creation than the mark saw is not counted
   * (more runs stay, never fewer) until a full count (docs/retention.md).
   */
  retentionCutoffs(scope: string, defaults: RetentionDefaults, now: Date): Promise<PruneCutoff[]>;
  /**
   * One small batch of a retention pass: deletes at most `limit` runs of the given jobs
   * created and finished before their job's cutoff, oldest first, never a pending or running
   * run nor the run a queue-mode chain still points at (scheduled for its job's
   * `next_due_at`), and skipping rows another transaction has locked (it never waits).
   * A run deleted at or after its job's retention mark leaves the mark's count. Returns the
   * count deleted per job id (jobs with none are absent).
   */
  pruneRuns(scope: string, cutoffs: PruneCutoff[], limit: number): Promise<Map<string, number>>;

  // ── leadership ───────────────────────────────────────────────────────────
  /**
   * Take or renew the scope's lease by CAS inside a transaction holding
   * `pg_advisory_xact_lock(key(scope))`: succeeds when free, expired, already ours, or
   * held by a scheduler whose liveness row says it took its lock and the lock is gone.
   * The fence epoch increments whenever the holder changes.
   */
  acquireLeadership(scope: string, instanceId: string, ttlMs: number, now: Date): Promise<LeadershipState>;
  /** Gives the lease up at once so another instance takes over without waiting for expiry. */
  releaseLeadership(scope: string, instanceId: string): Promise<void>;
  getLeadership(scope: string, now: Date): Promise<LeadershipState>;

  // ── liveness ─────────────────────────────────────────────────────────────
  /**
   * Proves this instance alive: a session-level advisory lock on ONE dedicated connection
   * (never a pooled one: a session lock would stay with the pool's next user), released by
   * the server the moment the connection's socket closes, and a liveness row saying the lock
   * was taken. Returns at once; the lock is taken, and retaken after a drop, in the
   * background. `null` when this store cannot open a dedicated connection (given neither a
   * `pg.Pool` nor `createClient`): the instance then keeps the lease rule alone.
   * While a leader's lock is held, `acquireLeadership` by another instance fails as before;
   * once it is absent (and its row says it was taken), the lease may be taken at once.
   */
  holdLiveness(kind: LivenessKind, instanceId: string, options?: HoldLivenessOptions): LivenessHandle | null;

  // ── audit and change notification ────────────────────────────────────────
  appendAudit(scope: string, entry: NewAuditEntry): Promise<void>;
  listAudit(scope: string, opts?: { jobId?: string; limit?: number }): Promise<AuditEntry[]>;
  /** Tells every instance that a job changed (Postgres NOTIFY). */
  notifyJobChange(scope: string, jobId: string): Promise<void>;
  /** Subscribes to job changes of a scope (Postgres LISTEN on one held connection). */
  onJobChange(scope: string, listener: (change: JobChange) => void): Promise<() => Promise<void>>;

  /** Releases what the store itself holds (a LISTEN connection); never the host's pool. */
  close(): Promise<void>;
}
