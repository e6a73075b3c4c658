/* eslint-disable @typescript-eslint/no-explicit-any -- pg result rows are untyped: their columns are read by name where they are mapped */
/**
 * PgStore: the Store port on PostgreSQL. Every statement goes through `#exec` (pg-boss's
 * `executeSql` idea), so a `pg.Pool`, a `pg.Client` or anything with `query(text, values)`
 * fits; named SQL lives in queries.ts and rows become records in rows.ts. Decisions that
 * depend on time use the `now` the caller passes, never the database clock.
 */
import { createHash } from 'node:crypto';
import createDebug from 'debug';
import { z } from 'zod';
import { systemClock, type Clock } from '../../clock.js';
import type { JobConfig } from '../../define/types.js';
import { notifyChannel } from '../../names.js';
import { parseOptions, schemaOption, withFunctions } from '../../util/options.js';
import type {
  AuditEntry,
  ClaimContext,
  ClaimRequest,
  ClaimResult,
  Completion,
  CompletionResult,
  Fence,
  HeartbeatResult,
  HoldLivenessOptions,
  JobChange,
  JobRecord,
  LeadershipState,
  ListRunsOptions,
  LivenessHandle,
  LivenessKind,
  NewAuditEntry,
  NewRun,
  PruneCutoff,
  PublishedRun,
  RetentionDefaults,
  RunCounts,
  RunRecord,
  RunSummary,
  SetEnabledOptions,
  SlotClaim,
  SlotClaimResult,
  Store,
  UpdateJobOptions,
} from '../port.js';
import { FAILURE_STATUSES } from '../port.js';
import {
  SqlRunner,
  advisoryKey,
  guardConnectionErrors,
  quoteIdent,
  sendQuery,
  sqlState,
  type Queryable,
  type QueryResultLike,
} from './db.js';
import { type CompletionPlan, JOB_REMOVED_REASON, claimStart, goneAsked, jobKey, planClaims, planCompletions } from '../decide.js';
import { type LeaseRow, leadershipState, notLeaderError } from '../leadership.js';
import { JobChangeListener } from './listener.js';
import { PgLiveness, poolClientFactory } from './liveness.js';
import { buildQueries, buildRunUpdates, type Queries, type RunUpdates } from './queries.js';
import { CONFIG_KEYS, configValues, toAudit, toJob, toRun } from './rows.js';
import { changedColumns, runUpdateValues } from './run-update.js';
import { numberArray, uuidArray } from './array-literal.js';
import * as v from '../validate-calls.js';
import { checkScope, isUuid, jobNotFound } from '../validate.js';

const debug = createDebug('warren:store');

const pgStoreOptionsSchema = z.object({
  /** The host's `pg.Pool` (or a connected `pg.Client`, or anything with `query(text, values)`). */
  pool: withFunctions<Queryable>('a pg.Pool or pg.Client', 'query'),
  /**
   * The schema `migrate()` installed warren's tables in.
   * @default 'scheduler'
   */
  schema: schemaOption,
  /**
   * Timers for LISTEN reconnection backoff.
   * @default systemClock
   */
  clock: withFunctions<Clock>('a Clock', 'setTimer').optional(),
  /**
   * Send the hot-path statements (claim, complete, heartbeat, publish, insert, scans) as
   * named prepared statements: Postgres parses and plans each once per connection instead
   * of on every call. Turn it off behind a pooler without protocol-level prepared
   * statements (PgBouncer in transaction mode before 1.21), or with a `pool` that only
   * takes `query(text, values)`.
   * @default true
   */
  preparedStatements: z.boolean().default(true),
  /**
   * Receives the connection errors the pool or client emits while this store uses it (an
   * idle client whose backend was terminated, a reset). The store listens for them so they
   * never crash the host; they are also written to `debug('warren:store')`.
   */
  onError: z.custom<(error: Error) => void>((value) => typeof value === 'function', { error: 'a function' }).optional(),
});

export type PgStoreOptions = z.input<typeof pgStoreOptionsSchema>;

type Exec = (text: string, values?: unknown[]) => Promise<QueryResultLike<Record<string, any>>>;

/** The statements worth preparing: run per message or per scheduler tick (and every run update, see #runUpdate). */
const PREPARED: ReadonlyArray<keyof Queries> = [
  'lockJobsAndRuns',
  'lockRuns',
  'readJobsAndRuns',
  'claimStraight',
  'heartbeat',
  'markPublished',
  'insertRuns',
  'checkFence',
  'casNextDue',
  'runningCounts',
  'unpublishedRuns',
  'unpublishedOrLostRuns',
  'dueJobs',
];

/**
 * Statement text → name. The text holds the quoted schema, so the hash keeps two schemas
 * (or two warren versions) on one connection from sharing a name: node-postgres refuses a
 * name re-used on a connection with different text ("Prepared statements must be unique").
 */
function statementNames(q: Queries): Map<string, string> {
  return new Map(PREPARED.map((key) => [q[key], statementName(key, q[key])]));
}

/** `warren_<label>_<hash of the text>`, under 63 bytes: Postgres tells prepared statement names apart by their first 63. */
function statementName(label: string, text: string): string {
  return `warren_${label}_${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12)}`;
}

export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly #runner: SqlRunner;
  readonly #q: Queries;
  /** Run update statements by column mask (queries.ts buildRunUpdates), built on first use. */
  readonly #runUpdates = new Map<number, RunUpdates>();
  readonly #listener: JobChangeListener;
  /** Statement text → prepared statement name; null when `preparedStatements` is off. */
  #names: Map<string, string> | null;
  readonly #unguard: () => void;
  readonly #clock: Clock;
  /** Liveness handles still open, closed with the store so no dedicated connection outlives it. */
  readonly #liveness = new Set<LivenessHandle>();
  /**
   * The last claim or completion batch had a run of a job with an overlap limit: the next one
   * goes to the locked path at once (the straight claim, or the optimistic completion's read,
   * would be a wasted round trip for those runs); a locked batch with none turns it back off.
   */
  #limitedSeen = false;
  /**
   * Runs this store claimed straight, as written (record, row version, job as read): the
   * optimistic completion of such a run decides on this copy and writes only if the row is
   * still that version, so it needs no read. Dropped at the run's completion; bounded
   * (oldest first) for runs that never complete here.
   */
  readonly #claimed = new Map<string, { run: RunRecord; version: string; job: JobRecord }>();

  constructor(options: PgStoreOptions) {
    const o = parseOptions(pgStoreOptionsSchema, options, { label: 'PgStore option' });
    this.schema = o.schema;
    this.#runner = new SqlRunner(o.pool);
    this.#q = buildQueries(quoteIdent(this.schema));
    this.#names = o.preparedStatements ? statementNames(this.#q) : null;
    this.#clock = o.clock ?? systemClock;
    this.#listener = new JobChangeListener(this.#runner, notifyChannel(this.schema), this.#clock);
    const onError = o.onError;
    this.#unguard = guardConnectionErrors(o.pool, (err) => {
      debug('connection error on the pool (survived): %s', err.message);
      onError?.(err);
    });
  }

  /** The single door to the database (outside transactions). */
  #exec: Exec = (text, values) => {
    const name = this.#names?.get(text);
    const sent = this.#runner.query(text, values, name);
    return name === undefined ? sent : sent.catch((err: unknown) => this.#unprepare(err, () => this.#runner.query(text, values)));
  };

  /**
   * The run update statements writing the columns in `mask`, built once per mask; named
   * (`…_m<mask in hex>_<hash>`) while statements are prepared, so each column set is
   * prepared once per connection like the other hot statements.
   */
  #runUpdate(mask: number): RunUpdates {
    let q = this.#runUpdates.get(mask);
    if (q === undefined) {
      q = buildRunUpdates(quoteIdent(this.schema), mask);
      this.#runUpdates.set(mask, q);
      for (const [key, text] of Object.entries(q)) this.#names?.set(text, statementName(`${key}_m${mask.toString(16)}`, text));
    }
    return q;
  }

  /** A transaction holds one client, so a named statement is prepared on that connection. */
  #tx<T>(fn: (exec: Exec) => Promise<T>): Promise<T> {
    const run = () => this.#runner.transaction((client) => fn((text, values) => sendQuery(client, text, values, this.#names?.get(text))));
    return this.#names === null ? run() : run().catch((err: unknown) => this.#unprepare(err, run));
  }

  /**
   * A migration that changed a table's columns under a statement prepared with `RETURNING *`
   * makes Postgres refuse it ("cached plan must not change result type", 0A000) on every
   * connection holding it, and node-postgres never re-prepares a name: fall back to plain
   * text for this store's life and retry (a failed transaction was rolled back).
   */
  #unprepare<T>(err: unknown, retry: () => Promise<T>): Promise<T> {
    // Calls in flight when the first one fell back fail the same way: each retries.
    if (sqlState(err) !== '0A000' || !/cached plan must not change result type/.test((err as Error).message)) throw err;
    debug('a prepared statement of schema %s outlived a change of its result type: plain statements from now on', this.schema);
    this.#names = null;
    return retry();
  }

  // ── jobs ──────────────────────────────────────────────────────────────────

  async syncJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord> {
    const { nextDueAt, now } = v.checkWriteJobArgs(scope, jobId, config, opts);
    const { rows } = await this.#exec(this.#q.syncJob, [scope, jobId, ...configValues(config), [], nextDueAt, now]);
    return toJob(rows[0]!);
  }

  async upsertJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord> {
    const { nextDueAt, now } = v.checkWriteJobArgs(scope, jobId, config, opts);
    const { rows } = await this.#exec(this.#q.upsertJob, [scope, jobId, ...configValues(config), [...CONFIG_KEYS], nextDueAt, now]);
    return toJob(rows[0]!);
  }

  async updateJob(scope: string, jobId: string, patch: Partial<JobConfig>, opts: UpdateJobOptions): Promise<JobRecord> {
    const { keys, nextDueAt, bumpEpoch, now } = v.checkUpdateJobArgs(scope, jobId, patch, opts);
    const { rows } = await this.#exec(this.#q.updateJob, [
      scope,
      jobId,
      keys,
      ...configValues(patch),
      nextDueAt !== undefined,
      nextDueAt ?? null,
      bumpEpoch,
      now,
    ]);
    if (rows.length === 0) throw jobNotFound(scope, jobId);
    return toJob(rows[0]!);
  }

  async getJob(scope: string, jobId: string): Promise<JobRecord | null> {
    v.checkJobArgs(scope, jobId);
    const { rows } = await this.#exec(this.#q.getJob, [scope, jobId]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async listJobs(scope: string): Promise<JobRecord[]> {
    checkScope(scope);
    const { rows } = await this.#exec(this.#q.listJobs, [scope]);
    return rows.map(toJob);
  }

  async removeJob(scope: string, jobId: string, now: Date): Promise<boolean> {
    v.checkJobNowArgs(scope, jobId, now);
    // The lock order every writer follows (the job, then its runs in id order), so no deadlock.
    const { rows } = await this.#tx(async (exec) => {
      await exec(this.#q.lockJob, [scope, jobId]);
      await exec(this.#q.lockLiveRunsOfJob, [scope, jobId]);
      return exec(this.#q.removeJob, [scope, jobId, now, JOB_REMOVED_REASON]);
    });
    return Number(rows[0]?.removed ?? 0) > 0;
  }

  async setEnabled(scope: string, jobId: string, enabled: boolean, opts: SetEnabledOptions): Promise<JobRecord> {
    const { note, nextDueAt, now } = v.checkSetEnabledArgs(scope, jobId, enabled, opts);
    const { rows } = await this.#exec(this.#q.setEnabled, [scope, jobId, enabled, note, nextDueAt !== undefined, nextDueAt ?? null, now]);
    if (rows.length === 0) throw jobNotFound(scope, jobId);
    return toJob(rows[0]!);
  }

  async cancelClaimedAhead(scope: string, jobId: string, after: Date, reason: string, now: Date): Promise<number> {
    v.checkCancelAheadArgs(scope, jobId, after, reason, now);
    // Its own transaction after the job's update committed: a claim that committed meanwhile
    // (its run row was invisible to the update's snapshot) is seen here. Jobs before runs.
    const result = await this.#tx(async (exec) => {
      await exec(this.#q.lockJob, [scope, jobId]);
      await exec(this.#q.lockClaimedAhead, [scope, jobId, after, now]);
      return exec(this.#q.cancelClaimedAhead, [scope, jobId, after, reason, now]);
    });
    return result.rowCount ?? 0;
  }

  async setNextDue(scope: string, jobId: string, expected: Date | null, next: Date | null): Promise<boolean> {
    v.checkSetNextDueArgs(scope, jobId, expected, next);
    const result = await this.#exec(this.#q.setNextDue, [scope, jobId, expected, next]);
    return (result.rowCount ?? 0) > 0;
  }

  async dueJobs(scope: string, before: Date, limit: number): Promise<JobRecord[]> {
    v.checkScanArgs(scope, before, 'before', limit);
    const { rows } = await this.#exec(this.#q.dueJobs, [scope, before, limit]);
    return rows.map(toJob);
  }

  async earliestDue(scope: string): Promise<Date | null> {
    checkScope(scope);
    const { rows } = await this.#exec(this.#q.earliestDue, [scope]);
    return (rows[0]?.at as Date | null | undefined) ?? null;
  }

  // ── slots and runs ───────────────────────────────────────────────────────

  async claimSlots(scope: string, fence: Fence | null, claims: SlotClaim[], now: Date): Promise<SlotClaimResult> {
    v.checkClaimSlotsArgs(scope, fence, claims, now);
    return this.#tx(async (exec) => {
      if (fence) {
        const held = await exec(this.#q.checkFence, [scope, fence.instanceId, String(fence.epoch), now]);
        if (held.rows.length === 0) {
          // Read only to name the holder in the error.
          const current = leadershipState(leaseOf((await exec(this.#q.getLease, [scope])).rows[0]), now, null).fence;
          throw notLeaderError(scope, fence, current);
        }
      }
      if (claims.length === 0) return { claimed: [], conflicts: [], inserted: [] };
      const cas = await exec(this.#q.casNextDue, [
        scope,
        claims.map((c) => c.jobId),
        claims.map((c) => c.expectedNextDueAt),
        claims.map((c) => c.nextDueAt),
      ]);
      const won = new Set(cas.rows.map((r) => r.job_id as string));
      const claimed = claims.filter((c) => won.has(c.jobId));
      const runs = claimed.flatMap((c) => c.runs.map((run) => ({ scope, run })));
      const inserted = runs.length === 0 ? [] : await this.#insertRuns(exec, runs, now);
      return { claimed: claimed.map((c) => c.jobId), conflicts: claims.filter((c) => !won.has(c.jobId)).map((c) => c.jobId), inserted };
    });
  }

  async insertRuns(scope: string, runs: NewRun[], now: Date): Promise<RunRecord[]> {
    v.checkInsertRunsArgs(scope, runs, now);
    if (runs.length === 0) return [];
    return this.#insertRuns(
      this.#exec,
      runs.map((run) => ({ scope, run })),
      now,
    );
  }

  /** One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING * for any number of runs. */
  async #insertRuns(exec: Exec, runs: Array<{ scope: string; run: NewRun }>, now: Date): Promise<RunRecord[]> {
    const col = <T>(f: (x: { scope: string; run: NewRun }) => T) => runs.map(f);
    const { rows } = await exec(this.#q.insertRuns, [
      now,
      col((x) => x.run.runId),
      col((x) => x.scope),
      col((x) => x.run.jobId),
      col((x) => x.run.scheduledFor),
      col((x) => x.run.triggerSource),
      col((x) => x.run.attempt ?? 1),
      col((x) => x.run.status),
      col((x) => JSON.stringify(x.run.params ?? {})),
      col((x) => x.run.epoch),
      col((x) => x.run.staleAt ?? null),
      col((x) => x.run.availableAt),
      col((x) => x.run.error ?? null),
    ]);
    return rows.map(toRun);
  }

  async unpublishedRuns(scope: string, createdBefore: Date, limit: number, opts?: { republishBefore?: Date }): Promise<RunRecord[]> {
    const republishBefore = v.checkUnpublishedArgs(scope, createdBefore, limit, opts);
    const { rows } =
      republishBefore === null
        ? await this.#exec(this.#q.unpublishedRuns, [scope, createdBefore, limit])
        : await this.#exec(this.#q.unpublishedOrLostRuns, [scope, createdBefore, limit, republishBefore]);
    return rows.map(toRun);
  }

  async markPublished(runs: ReadonlyArray<PublishedRun>, now: Date): Promise<void> {
    const list = v.checkMarkPublishedArgs(runs, now).filter((r) => isUuid(r.runId));
    if (list.length > 0) await this.#exec(this.#q.markPublished, [list.map((r) => r.runId), list.map((r) => r.attempt), now]);
  }

  async claimRuns(requests: ClaimRequest[], ctx: ClaimContext): Promise<ClaimResult[]> {
    v.checkClaimRunsArgs(requests, ctx);
    const ids = [...new Set(requests.map((r) => r.runId).filter(isUuid))];
    if (ids.length === 0) return requests.map((r) => ({ runId: r.runId, outcome: 'not_found', run: null, job: null }));
    if (this.#limitedSeen) return retryDeadlocks(() => this.#claimLocked(requests, ctx));

    // Straight: the runs that can simply be claimed are, in one round trip. The others (early,
    // past their deadline, of an older epoch, already taken, a second request for a run, or of
    // a job with an overlap limit) are decided by planClaims on the rows locked. Each step is
    // retried on its own when chosen as a deadlock victim (rolled back whole): a claim that
    // committed is never sent again, or its run would come back as a duplicate.
    const straight = await retryDeadlocks(() => this.#claimStraight(requests, ctx));
    if (straight.size === requests.length) return requests.map((r) => straight.get(r)!);
    const rest = requests.filter((r) => !straight.has(r));
    const decided = await retryDeadlocks(() => this.#claimLocked(rest, ctx));
    const byRequest = new Map<ClaimRequest, ClaimResult>(rest.map((r, i) => [r, decided[i]!]));
    return requests.map((r) => straight.get(r) ?? byRequest.get(r)!);
  }

  /**
   * The straight claim (queries.ts claimStraight): the first request for each run, and only
   * while no job with an overlap limit was seen. Returns the requests claimed, with their results.
   */
  async #claimStraight(requests: ClaimRequest[], ctx: ClaimContext): Promise<Map<ClaimRequest, ClaimResult>> {
    const claimed = new Map<ClaimRequest, ClaimResult>();
    const first = new Map<string, ClaimRequest>();
    for (const r of requests) if (isUuid(r.runId) && !first.has(r.runId)) first.set(r.runId, r);
    if (first.size === 0) return claimed;
    const now = ctx.now.getTime();
    const sent = [...first.values()].sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
    const { rows } = await this.#exec(this.#q.claimStraight, [
      uuidArray(sent.map((r) => r.runId)),
      numberArray(sent.map((r) => r.attempt)),
      numberArray(sent.map((r) => claimStart(r, now))),
      now,
      now + ctx.leaseMs,
      ctx.workerId,
    ]);
    const written = taggedRows(rows);
    for (const run of written.runs.values()) {
      const job = written.jobs.get(jobKey(run.scope, run.jobId))!;
      this.#remember(run, written.versions.get(run.runId)!, job);
      claimed.set(first.get(run.runId)!, { runId: run.runId, outcome: 'claimed', run, job });
    }
    return claimed;
  }

  /** The locked claim: one transaction, jobs with an overlap limit locked before the runs. */
  #claimLocked(requests: ClaimRequest[], ctx: ClaimContext): Promise<ClaimResult[]> {
    const ids = [...new Set(requests.map((r) => r.runId).filter(isUuid))];
    return this.#tx(async (exec) => {
      // Jobs first, in key order (the lock order every writer of runs follows), then runs.
      const locked = await this.#lockJobsAndRuns(exec, ids, true);
      const jobRows = locked.jobs;
      const jobs = new Map(jobRows.map((j) => [jobKey(j.scope, j.jobId), j]));
      const counted = jobRows.filter((j) => j.overlap !== 'allowAll');
      this.#limitedSeen = counted.length > 0;
      // With a job with an overlap limit the runs are locked by a later statement: its snapshot
      // is taken after the job lock was granted, so every running run of the job is counted.
      const runRows =
        counted.length === 0
          ? locked.runs
          : (await exec(this.#q.lockRuns, [ids, counted.map((j) => j.scope), counted.map((j) => j.jobId)])).rows.map(toRun);
      const runs = new Map(runRows.map((r) => [r.runId, r]));
      const plan = planClaims(requests, runs, jobs, ctx);
      const written = await this.#updateRuns(exec, plan.updates, runs);
      return plan.results.map((result) =>
        result.run && written.has(result.run.runId) ? { ...result, run: written.get(result.run.runId)! } : result,
      );
    });
  }

  /** The optimistic completion's read: runs (with their row versions) and their jobs, unlocked, one autocommit statement. */
  async #readJobsAndRuns(ids: string[]): Promise<OptimisticRead> {
    return taggedRows((await this.#exec(this.#q.readJobsAndRuns, [ids])).rows);
  }

  /** jobsOfRuns + the requested runs locked, in one round trip (see queries.ts for `forClaim`). */
  async #lockJobsAndRuns(exec: Exec, ids: string[], forClaim: boolean): Promise<{ jobs: JobRecord[]; runs: RunRecord[] }> {
    const { rows } = await exec(this.#q.lockJobsAndRuns, [ids, forClaim]);
    const jobs: JobRecord[] = [];
    const runs: RunRecord[] = [];
    for (const r of rows) {
      if (r.kind === 'job') jobs.push(toJob(r.row));
      else runs.push(toRun(r.row));
    }
    return { jobs, runs };
  }

  /**
   * Writes planned run rows (the columns they change from `read`, the locked rows they were
   * planned on) in one statement; returns those written (as planned: the rows are locked).
   */
  async #updateRuns(
    exec: Exec,
    updates: Map<string, RunRecord>,
    read: Map<string, RunRecord>,
    jobUpdates?: CompletionPlan['jobUpdates'],
  ): Promise<Map<string, RunRecord>> {
    if (updates.size === 0) return new Map();
    const mask = changedColumns(updates.values(), read);
    const q = this.#runUpdate(mask);
    const values = runUpdateValues([...updates.values()], mask);
    const u = [...(jobUpdates?.values() ?? [])];
    const { rows } =
      u.length === 0 ? await exec(q.updateRuns, values) : await exec(q.updateRunsAndJobs, [...values, ...jobUpdateValues(u)]);
    return new Map(rows.map((row) => [row.run_id as string, updates.get(row.run_id as string)!]));
  }

  #remember(run: RunRecord, version: string, job: JobRecord): void {
    this.#claimed.delete(run.runId);
    this.#claimed.set(run.runId, { run, version, job });
    if (this.#claimed.size > MAX_CLAIMED_KEPT) this.#claimed.delete(this.#claimed.keys().next().value!);
  }

  /** The runs and jobs as this store claimed them, when it claimed every one of `ids` (else null). */
  #claimedCopy(ids: string[]): OptimisticRead | null {
    const read: OptimisticRead = { jobs: new Map(), runs: new Map(), versions: new Map() };
    for (const id of ids) {
      const known = this.#claimed.get(id);
      if (known === undefined) return null;
      read.runs.set(id, known.run);
      read.versions.set(id, known.version);
      read.jobs.set(jobKey(known.job.scope, known.job.jobId), known.job);
    }
    return read;
  }

  async heartbeat(runIds: string[], ctx: ClaimContext): Promise<HeartbeatResult> {
    const requested = v.checkHeartbeatArgs(runIds, ctx);
    const ids = [...new Set(requested.filter(isUuid))];
    const { rows } =
      ids.length === 0 ? { rows: [] } : await this.#exec(this.#q.heartbeat, [ids, ctx.workerId, new Date(ctx.now.getTime() + ctx.leaseMs)]);
    const held = new Map(rows.map((r) => [r.run_id as string, r.cancel_requested_at as Date | null]));
    const extended = requested.filter((id) => held.has(id));
    const cancel = requested.filter((id) => !held.has(id) || held.get(id) !== null);
    return { extended, cancel };
  }

  async completeRuns(completions: Completion[]): Promise<CompletionResult[]> {
    v.checkCompletions(completions);
    return retryDeadlocks(() => this.#completeRuns(completions));
  }

  async #completeRuns(completions: Completion[]): Promise<CompletionResult[]> {
    const ids = [...new Set(completions.map((c) => c.runId).filter(isUuid))];
    if (ids.length === 0) return completions.map((c) => ({ runId: c.runId, applied: false, run: null, nextRun: null }));
    // Optimistic, as a claim: read unlocked, decide, one autocommit statement that writes only
    // if nothing it read changed. Not for the reaper's liveness guard (it re-checks a lock in
    // the transaction), chain links (inserted with their job's next_due_at) or jobs with an
    // overlap limit (locked before their runs).
    const plain = !this.#limitedSeen && completions.every((c) => !('workerGone' in c.guard) && c.next === undefined);
    // Runs this store claimed need no read: their copy as written, checked by row version.
    const copy = plain ? this.#claimedCopy(ids) : null;
    for (const id of ids) this.#claimed.delete(id);
    if (copy !== null) {
      const done = await this.#completeOptimistic(completions, copy, true);
      if (done !== null) return done;
      debug('optimistic completion: a run changed since its claim here (a heartbeat, a cancel request), reading it again');
    }
    if (plain) {
      const read = await this.#readJobsAndRuns(ids);
      this.#limitedSeen = [...read.jobs.values()].some((j) => j.overlap !== 'allowAll');
      if (!this.#limitedSeen) {
        const done = await this.#completeOptimistic(completions, read);
        if (done !== null) return done;
        debug('optimistic completion: a run or job changed since the read, completing under lock');
      }
    }
    return this.#completeLocked(completions, ids);
  }

  /** planCompletions on what was read (or kept from the claim), written only if none of it changed; null when something did. */
  async #completeOptimistic(completions: Completion[], read: OptimisticRead, kept = false): Promise<CompletionResult[] | null> {
    const plan = planCompletions(completions, read.runs, read.jobs);
    // A copy kept from the claim speaks for the row only once the write has checked its version:
    // a completion it refuses is decided again on the row as it is.
    if (kept && plan.results.some((result) => !result.applied)) return null;
    // A run whose job is gone has no job row to re-check: the locked path (rare).
    const jobless = [...plan.updates.values()].some((r) => !read.jobs.has(jobKey(r.scope, r.jobId)));
    if (plan.updates.size === 0 || (!jobless && (await this.#completeIfUnchanged(plan, read)))) {
      return plan.results.map((result) => ({ ...result, nextRun: null }));
    }
    return null;
  }

  /** The locked completion: one transaction, jobs with an overlap limit locked before the runs. */
  #completeLocked(completions: Completion[], ids: string[]): Promise<CompletionResult[]> {
    return this.#tx(async (exec) => {
      const { jobs: jobRows, runs: runRows } = await this.#lockJobsAndRuns(exec, ids, false);
      const jobs = new Map(jobRows.map((j) => [jobKey(j.scope, j.jobId), j]));
      this.#limitedSeen = jobRows.some((j) => j.overlap !== 'allowAll');
      const gone = await this.#goneWorkers(exec, completions);
      const runs = new Map(runRows.map((r) => [r.runId, r]));
      const plan = planCompletions(completions, runs, jobs, gone);
      const written = await this.#updateRuns(exec, plan.updates, runs, plan.jobUpdates);
      const links = plan.chain.length === 0 ? [] : await this.#insertRuns(exec, plan.chain, plan.chainCreatedAt!);
      const linkById = new Map(links.map((r) => [r.runId, r]));
      const nextOf = new Map(plan.chain.map((c) => [c.index, linkById.get(c.run.runId) ?? null]));
      return plan.results.map((result, i) => ({
        ...result,
        run: result.applied && written.has(result.runId) ? written.get(result.runId)! : result.run,
        nextRun: nextOf.get(i) ?? null,
      }));
    });
  }

  /** The optimistic completion's write: all of the plan, or nothing when a run or job changed since the read. */
  async #completeIfUnchanged(plan: CompletionPlan, read: OptimisticRead): Promise<boolean> {
    const runs = [...plan.updates.values()];
    const u = [...plan.jobUpdates.values()];
    const mask = changedColumns(runs, read.runs);
    const { rows } = await this.#exec(this.#runUpdate(mask).updateRunsAndJobsIfUnchanged, [
      ...runUpdateValues(runs, mask),
      runs.map((r) => read.versions.get(r.runId)!),
      ...jobCheckValues(runs, read.jobs),
      ...jobUpdateValues(u),
    ]);
    return rows.length === runs.length;
  }

  /** The liveness reaper's re-check, in the completing transaction (after the runs: the lock order). */
  async #goneWorkers(exec: Exec, completions: Completion[]): Promise<Set<string>> {
    const asked = goneAsked(completions);
    if (asked.size === 0) return new Set();
    const { rows } = await exec(this.#q.goneWorkers, [[...asked.keys()], [...asked.values()], this.#livenessPrefix]);
    return new Set(rows.map((r) => r.instance_id as string));
  }

  async expiredLeases(scope: string, now: Date, limit: number): Promise<RunRecord[]> {
    v.checkScanArgs(scope, now, 'now', limit);
    const { rows } = await this.#exec(this.#q.expiredLeases, [scope, now, limit]);
    return rows.map(toRun);
  }

  async deadWorkerRuns(scope: string, now: Date, graceMs: number, limit: number): Promise<RunRecord[]> {
    v.checkDeadWorkerRunsArgs(scope, now, graceMs, limit);
    const { rows } = await this.#exec(this.#q.deadWorkerRuns, [scope, this.#livenessPrefix, now, new Date(now.getTime() - graceMs), limit]);
    return rows.map(toRun);
  }

  async brokenChains(scope: string, before: Date, limit: number): Promise<JobRecord[]> {
    v.checkScanArgs(scope, before, 'before', limit);
    const { rows } = await this.#exec(this.#q.brokenChains, [scope, before, limit]);
    return rows.map(toJob);
  }

  async countRunning(scope: string, jobId: string, now: Date): Promise<number> {
    v.checkJobNowArgs(scope, jobId, now);
    const { rows } = await this.#exec(this.#q.countRunning, [scope, jobId, now]);
    return Number(rows[0]?.n ?? 0);
  }

  async runningCounts(scope: string, jobIds: string[], now: Date): Promise<Map<string, RunCounts>> {
    const ids = v.checkRunningCountsArgs(scope, jobIds, now);
    const counts = new Map<string, RunCounts>(ids.map((id) => [id, { running: 0, pending: 0 }]));
    if (ids.length === 0) return counts;
    const { rows } = await this.#exec(this.#q.runningCounts, [scope, ids, now]);
    for (const row of rows) counts.set(row.job_id as string, { running: Number(row.running), pending: Number(row.pending) });
    return counts;
  }

  async runSummaries(scope: string, jobIds: string[], now: Date, recent: number): Promise<Map<string, RunSummary>> {
    const ids = v.checkRunSummariesArgs(scope, jobIds, now, recent);
    if (ids.length === 0) return new Map();
    const { rows } = await this.#exec(this.#q.runSummaries, [scope, ids, now, recent, FAILURE_STATUSES]);
    return new Map(
      rows.map((row) => [row.job_id as string, { running: Number(row.running), recentFailures: Number(row.recent_failures) }]),
    );
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    v.checkRunId(runId);
    if (!isUuid(runId)) return null;
    const { rows } = await this.#exec(this.#q.getRun, [runId]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  async listRuns(scope: string, opts: ListRunsOptions = {}): Promise<RunRecord[]> {
    const { opts: o, limit } = v.checkListArgs(scope, opts);
    const statuses = o.status === undefined ? null : Array.isArray(o.status) ? o.status : [o.status];
    const { rows } = await this.#exec(this.#q.listRuns, [scope, o.jobId ?? null, statuses, limit]);
    return rows.map(toRun);
  }

  // ── retention ────────────────────────────────────────────────────────────

  async retentionCutoffs(scope: string, defaults: RetentionDefaults, now: Date): Promise<PruneCutoff[]> {
    const d = v.checkRetentionCutoffsArgs(scope, defaults, now);
    // One transaction: the statement writes the jobs' retention marks, and JIT is off for it only.
    const { rows } = await this.#tx(async (exec) => {
      await exec(this.#q.retentionJitOff, []);
      return exec(this.#q.retentionCutoffs, [scope, d.maxAgeMs, d.keepLast, now]);
    });
    return rows.map((row) => ({ jobId: row.job_id as string, before: row.before as Date }));
  }

  async pruneRuns(scope: string, cutoffs: PruneCutoff[], limit: number): Promise<Map<string, number>> {
    const list = v.checkPruneRunsArgs(scope, cutoffs, limit);
    if (list.length === 0) return new Map();
    const { rows } = await this.#exec(this.#q.pruneRuns, [scope, list.map((c) => c.jobId), list.map((c) => c.before), limit]);
    return new Map(rows.map((row) => [row.job_id as string, Number(row.n)]));
  }

  // ── leadership ───────────────────────────────────────────────────────────

  async acquireLeadership(scope: string, instanceId: string, ttlMs: number, now: Date): Promise<LeadershipState> {
    v.checkAcquireLeadershipArgs(scope, instanceId, ttlMs, now);
    const { row, before } = await this.#tx(async (exec) => {
      // Transaction-scoped: released at COMMIT, so it is safe on a pooled (or PgBouncer) connection.
      await exec(this.#q.leaderLock, [advisoryKey(`warren:leader:${this.schema}:${scope}`)]);
      // Read under the lock: whether a lease won was another instance's, still unexpired.
      const prior = leadershipState(leaseOf((await exec(this.#q.getLease, [scope])).rows[0]), now, instanceId);
      const taken = await exec(this.#q.acquireLease, [scope, instanceId, new Date(now.getTime() + ttlMs), now, this.#livenessPrefix]);
      return { row: taken.rows[0] ?? (await exec(this.#q.getLease, [scope])).rows[0], before: prior };
    });
    const state = withLivenessTakeover(leadershipState(leaseOf(row), now, instanceId), before);
    debug('leadership of %s for %s: %s', scope, instanceId, state.leader ? `held, epoch ${state.fence?.epoch}` : `held by ${state.holder}`);
    return state;
  }

  async releaseLeadership(scope: string, instanceId: string): Promise<void> {
    v.checkReleaseLeadershipArgs(scope, instanceId);
    await this.#exec(this.#q.releaseLease, [scope, instanceId]);
  }

  async getLeadership(scope: string, now: Date): Promise<LeadershipState> {
    v.checkGetLeadershipArgs(scope, now);
    const { rows } = await this.#exec(this.#q.getLease, [scope]);
    return leadershipState(leaseOf(rows[0]), now, null);
  }

  // ── liveness ─────────────────────────────────────────────────────────────

  /** Keys of liveness locks: `${prefix}${kind}:${instanceId}`, hashed by hashtextextended in SQL. */
  get #livenessPrefix(): string {
    return `warren:${this.schema}:`;
  }

  holdLiveness(kind: LivenessKind, instanceId: string, options?: HoldLivenessOptions): LivenessHandle | null {
    const o = v.checkHoldLivenessArgs(kind, instanceId, options);
    const createClient = o.createClient ?? poolClientFactory(this.#runner.db);
    if (createClient === null) {
      debug('no dedicated connection for the liveness of %s %s (not a pg.Pool, no createClient): the lease rule alone', kind, instanceId);
      return null;
    }
    const deps = {
      runner: this.#runner,
      queries: this.#q,
      prefix: this.#livenessPrefix,
      clock: this.#clock,
      createClient,
      onClosed: (h: LivenessHandle) => this.#liveness.delete(h),
    };
    const handle = new PgLiveness(deps, kind, instanceId, o.onChange);
    this.#liveness.add(handle);
    return handle;
  }

  // ── audit and change notification ────────────────────────────────────────

  async appendAudit(scope: string, entry: NewAuditEntry): Promise<void> {
    const e = v.checkAppendAuditArgs(scope, entry);
    await this.#exec(this.#q.appendAudit, [scope, e.jobId, e.action, e.actor ?? null, JSON.stringify(e.details ?? {}), e.at]);
  }

  async listAudit(scope: string, opts: { jobId?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    const { opts: o, limit } = v.checkListArgs(scope, opts);
    const { rows } = await this.#exec(this.#q.listAudit, [scope, o.jobId ?? null, limit]);
    return rows.map(toAudit);
  }

  async notifyJobChange(scope: string, jobId: string): Promise<void> {
    v.checkJobArgs(scope, jobId);
    await this.#exec(this.#q.notify, [notifyChannel(this.schema), JSON.stringify({ scope, jobId } satisfies JobChange)]);
  }

  async onJobChange(scope: string, listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    v.checkOnJobChangeArgs(scope, listener);
    return this.#listener.subscribe(scope, listener);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#liveness].map((handle) => handle.close()));
    await this.#listener.close();
    this.#unguard();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A claim or completion that Postgres chose as a deadlock's victim (40P01) was rolled back
 * whole (one statement, or one transaction), so it is sent again, at most twice more: the
 * optimistic writes lock runs and then a job, the locked paths jobs and then runs, and two of
 * them can meet the other way round under contention.
 */
async function retryDeadlocks<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (sqlState(err) !== '40P01' || attempt >= 3) throw err;
      debug('deadlock victim (attempt %d): sent again', attempt);
    }
  }
}

/** Marks a lease won from another instance's unexpired lease (its liveness lock was gone). */
function withLivenessTakeover(state: LeadershipState, before: LeadershipState): LeadershipState {
  return state.leader && before.holder !== null && !before.leader ? { ...state, takenFromLiveHolder: true } : state;
}

/** A leases row (fence_epoch as text: a bigint) as the store-neutral lease. */
function leaseOf(row: Record<string, any> | undefined): LeaseRow | null {
  if (row === undefined) return null;
  return {
    holder: (row.holder as string | null) ?? null,
    epoch: Number(row.fence_epoch),
    expiresAt: (row.expires_at as Date | null) ?? null,
  };
}

/** Most straight-claimed runs a PgStore keeps for their completion (the oldest go first). */
const MAX_CLAIMED_KEPT = 10_000;

/** What the optimistic paths read: jobs by key, runs by id, and each run's row version (xmin). */
interface OptimisticRead {
  jobs: Map<string, JobRecord>;
  runs: Map<string, RunRecord>;
  versions: Map<string, string>;
}

/** Rows tagged `job` / `run` with their row version (readJobsAndRuns, claimStraight): jobs by key, runs and versions by id. */
function taggedRows(rows: Array<Record<string, any>>): OptimisticRead {
  const read: OptimisticRead = { jobs: new Map(), runs: new Map(), versions: new Map() };
  for (const r of rows) {
    if (r.kind === 'job') {
      const job = toJob(r.row);
      read.jobs.set(jobKey(job.scope, job.jobId), job);
    } else {
      read.runs.set(r.row.run_id as string, toRun(r.row));
      read.versions.set(r.row.run_id as string, r.row.row_version as string);
    }
  }
  return read;
}

/** The jobs of the runs to write, once each, with the epoch the plan read: the optimistic writes' job check. */
function jobCheckValues(runs: RunRecord[], jobs: Map<string, JobRecord>): unknown[] {
  const read = [...new Set(runs.map((r) => jobKey(r.scope, r.jobId)))].map((key) => jobs.get(key)!);
  return [read.map((j) => j.scope), read.map((j) => j.jobId), read.map((j) => j.epoch)];
}

/** The job arrays of a completion's write (queries.ts `jobsAfterRuns`). */
function jobUpdateValues(u: Array<CompletionPlan['jobUpdates'] extends Map<string, infer V> ? V : never>): unknown[] {
  return [
    u.map((x) => x.scope),
    u.map((x) => x.jobId),
    u.map((x) => x.lastRunAt),
    u.map((x) => x.lastStatus),
    u.map((x) => x.nextDueAt !== undefined),
    u.map((x) => x.nextDueAt ?? null),
  ];
}
