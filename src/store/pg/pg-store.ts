/**
 * PgStore: the Store port on PostgreSQL. Every statement goes through `#exec` (pg-boss's
 * `executeSql` idea), so a `pg.Pool`, a `pg.Client` or anything with `query(text, values)`
 * fits; named SQL lives in queries.ts and rows become records in rows.ts. Decisions that
 * depend on time use the `now` the caller passes, never the database clock.
 */
import createDebug from 'debug';
import { z } from 'zod';
import { systemClock, type Clock } from '../../clock.js';
import { WarrenError, describeValue } from '../../errors.js';
import type { JobConfig } from '../../define/types.js';
import { DEFAULT_SCHEMA, notifyChannel } from '../../names.js';
import { parseSchemaName } from '../migrate.js';
import type {
  AuditEntry, ClaimContext, ClaimRequest, ClaimResult, Completion, CompletionResult, Fence, HeartbeatResult, JobChange, JobRecord,
  LeadershipState, ListRunsOptions, NewAuditEntry, NewRun, RunRecord, SlotClaim, SlotClaimResult, Store,
} from '../port.js';
import { SqlRunner, advisoryKey, quoteIdent, type Queryable, type QueryResultLike } from './db.js';
import { jobKey, planClaims, planCompletions } from './decide.js';
import { JobChangeListener } from './listener.js';
import { RUN_UPDATE_COLUMNS, buildQueries, type Queries } from './queries.js';
import { CONFIG_KEYS, attemptJson, configValues, toAudit, toJob, toRun } from './rows.js';
import * as v from './validate.js';

const debug = createDebug('warren:store');

const pgStoreOptionsSchema = z.object({
  /** The host's `pg.Pool` (or a connected `pg.Client`, or anything with `query(text, values)`). */
  pool: z.custom<Queryable>((value) => typeof (value as Queryable | null)?.query === 'function', { message: 'expected a pg.Pool or pg.Client' }),
  /**
   * The schema `migrate()` installed warren's tables in.
   * @default 'scheduler'
   */
  schema: z.string().default(DEFAULT_SCHEMA),
  /**
   * Timers for LISTEN reconnection backoff.
   * @default systemClock
   */
  clock: z.custom<Clock>((value) => typeof (value as Clock | null)?.setTimer === 'function').optional(),
});

export type PgStoreOptions = z.input<typeof pgStoreOptionsSchema>;

type Exec = (text: string, values?: unknown[]) => Promise<QueryResultLike<Record<string, any>>>;

export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly #runner: SqlRunner;
  readonly #q: Queries;
  readonly #listener: JobChangeListener;

  constructor(options: PgStoreOptions) {
    const parsed = pgStoreOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || 'options';
      const got = issue.path.length > 0 ? (options as Record<string, unknown> | null)?.[String(issue.path[0])] : options;
      throw new WarrenError('ERR_INVALID_OPTION', `Invalid PgStore option \`${field}\`: ${issue.message}, got ${describeValue(got)}`, { field });
    }
    this.schema = parseSchemaName(parsed.data.schema, 'PgStore option');
    this.#runner = new SqlRunner(parsed.data.pool);
    this.#q = buildQueries(quoteIdent(this.schema));
    this.#listener = new JobChangeListener(this.#runner, notifyChannel(this.schema), parsed.data.clock ?? systemClock);
  }

  /** The single door to the database (outside transactions). */
  #exec: Exec = (text, values) => this.#runner.query(text, values);

  #tx<T>(fn: (exec: Exec) => Promise<T>): Promise<T> {
    return this.#runner.transaction((client) => fn((text, values) => client.query(text, values)));
  }

  // ── jobs ──────────────────────────────────────────────────────────────────

  async syncJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord> {
    this.#jobArgs(scope, jobId);
    v.checkConfig(config);
    const o = v.checkObject(opts, 'opts');
    const { rows } = await this.#exec(this.#q.syncJob, [scope, jobId, ...configValues(config), [], v.checkDateOrNull(o.nextDueAt ?? null, 'opts.nextDueAt'), v.checkDate(o.now, 'opts.now')]);
    return toJob(rows[0]!);
  }

  async upsertJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord> {
    this.#jobArgs(scope, jobId);
    v.checkConfig(config);
    const o = v.checkObject(opts, 'opts');
    const { rows } = await this.#exec(this.#q.upsertJob, [scope, jobId, ...configValues(config), [...CONFIG_KEYS], v.checkDateOrNull(o.nextDueAt ?? null, 'opts.nextDueAt'), v.checkDate(o.now, 'opts.now')]);
    return toJob(rows[0]!);
  }

  async updateJob(scope: string, jobId: string, patch: Partial<JobConfig>, opts: { now: Date; nextDueAt?: Date | null; bumpEpoch?: boolean }): Promise<JobRecord> {
    this.#jobArgs(scope, jobId);
    const keys = v.checkPatch(patch);
    const o = v.checkObject(opts, 'opts');
    const setNext = o.nextDueAt !== undefined;
    const { rows } = await this.#exec(this.#q.updateJob, [
      scope, jobId, keys, ...configValues(patch), setNext, setNext ? v.checkDateOrNull(o.nextDueAt, 'opts.nextDueAt') : null, o.bumpEpoch === true, v.checkDate(o.now, 'opts.now'),
    ]);
    if (rows.length === 0) throw notFound(scope, jobId);
    return toJob(rows[0]!);
  }

  async getJob(scope: string, jobId: string): Promise<JobRecord | null> {
    this.#jobArgs(scope, jobId);
    const { rows } = await this.#exec(this.#q.getJob, [scope, jobId]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async listJobs(scope: string): Promise<JobRecord[]> {
    v.checkScope(scope);
    const { rows } = await this.#exec(this.#q.listJobs, [scope]);
    return rows.map(toJob);
  }

  async removeJob(scope: string, jobId: string, now: Date): Promise<boolean> {
    this.#jobArgs(scope, jobId);
    v.checkDate(now, 'now');
    // The lock order every writer follows (the job, then its runs in id order), so no deadlock.
    const { rows } = await this.#tx(async (exec) => {
      await exec(this.#q.lockJob, [scope, jobId]);
      await exec(this.#q.lockLiveRunsOfJob, [scope, jobId]);
      return exec(this.#q.removeJob, [scope, jobId, now]);
    });
    return Number(rows[0]?.removed ?? 0) > 0;
  }

  async setEnabled(scope: string, jobId: string, enabled: boolean, opts: { now: Date; note?: string | null; nextDueAt?: Date | null }): Promise<JobRecord> {
    this.#jobArgs(scope, jobId);
    if (typeof enabled !== 'boolean') v.fail('enabled', 'a boolean', enabled);
    const o = v.checkObject(opts, 'opts');
    const note = o.note ?? null;
    if (note !== null && typeof note !== 'string') v.checkString(note, 'opts.note');
    const setNext = o.nextDueAt !== undefined;
    const { rows } = await this.#exec(this.#q.setEnabled, [scope, jobId, enabled, note, setNext, setNext ? v.checkDateOrNull(o.nextDueAt, 'opts.nextDueAt') : null, v.checkDate(o.now, 'opts.now')]);
    if (rows.length === 0) throw notFound(scope, jobId);
    return toJob(rows[0]!);
  }

  async setNextDue(scope: string, jobId: string, expected: Date | null, next: Date | null): Promise<boolean> {
    this.#jobArgs(scope, jobId);
    const result = await this.#exec(this.#q.setNextDue, [scope, jobId, v.checkDateOrNull(expected, 'expected'), v.checkDateOrNull(next, 'next')]);
    return (result.rowCount ?? 0) > 0;
  }

  async dueJobs(scope: string, before: Date, limit: number): Promise<JobRecord[]> {
    v.checkScope(scope);
    const { rows } = await this.#exec(this.#q.dueJobs, [scope, v.checkDate(before, 'before'), v.checkPositiveInt(limit, 'limit')]);
    return rows.map(toJob);
  }

  async earliestDue(scope: string): Promise<Date | null> {
    v.checkScope(scope);
    const { rows } = await this.#exec(this.#q.earliestDue, [scope]);
    return (rows[0]?.at as Date | null | undefined) ?? null;
  }

  // ── slots and runs ───────────────────────────────────────────────────────

  async claimSlots(scope: string, fence: Fence | null, claims: SlotClaim[], now: Date): Promise<SlotClaimResult> {
    v.checkScope(scope);
    v.checkDate(now, 'now');
    if (fence !== null) {
      const f = v.checkObject(fence, 'fence');
      v.checkString(f.instanceId, 'fence.instanceId');
      if (typeof f.epoch !== 'number' || !Number.isInteger(f.epoch)) v.fail('fence.epoch', 'an integer', f.epoch);
    }
    const seen = new Set<string>();
    v.checkArray<SlotClaim>(claims, 'claims').forEach((claim, i) => {
      v.checkJobId(claim?.jobId, `claims[${i}].jobId`);
      if (seen.has(claim.jobId)) v.fail(`claims[${i}].jobId`, 'each job at most once per call', claim.jobId);
      seen.add(claim.jobId);
      v.checkDateOrNull(claim.expectedNextDueAt, `claims[${i}].expectedNextDueAt`);
      v.checkDateOrNull(claim.nextDueAt, `claims[${i}].nextDueAt`);
      checkNewRuns(claim.runs, `claims[${i}].runs`);
    });

    return this.#tx(async (exec) => {
      if (fence) {
        const held = await exec(this.#q.checkFence, [scope, fence.instanceId, String(fence.epoch), now]);
        if (held.rows.length === 0) {
          throw new WarrenError('ERR_NOT_LEADER', `Not the leader of scope "${scope}": the lease moved from ${fence.instanceId} (fence epoch ${fence.epoch})`, { field: 'fence', details: { scope, fence } });
        }
      }
      if (claims.length === 0) return { claimed: [], conflicts: [], inserted: [] };
      const cas = await exec(this.#q.casNextDue, [scope, claims.map((c) => c.jobId), claims.map((c) => c.expectedNextDueAt), claims.map((c) => c.nextDueAt)]);
      const won = new Set(cas.rows.map((r) => r.job_id as string));
      const claimed = claims.filter((c) => won.has(c.jobId));
      const runs = claimed.flatMap((c) => c.runs.map((run) => ({ scope, run })));
      const inserted = runs.length === 0 ? [] : await this.#insertRuns(exec, runs, now);
      return { claimed: claimed.map((c) => c.jobId), conflicts: claims.filter((c) => !won.has(c.jobId)).map((c) => c.jobId), inserted };
    });
  }

  async insertRuns(scope: string, runs: NewRun[], now: Date): Promise<RunRecord[]> {
    v.checkScope(scope);
    v.checkDate(now, 'now');
    checkNewRuns(runs, 'runs');
    if (runs.length === 0) return [];
    return this.#insertRuns(this.#exec, runs.map((run) => ({ scope, run })), now);
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

  async unpublishedRuns(scope: string, createdBefore: Date, limit: number): Promise<RunRecord[]> {
    v.checkScope(scope);
    const { rows } = await this.#exec(this.#q.unpublishedRuns, [scope, v.checkDate(createdBefore, 'createdBefore'), v.checkPositiveInt(limit, 'limit')]);
    return rows.map(toRun);
  }

  async markPublished(runIds: string[], now: Date): Promise<void> {
    const ids = v.checkArray<string>(runIds, 'runIds').filter(v.isUuid);
    v.checkDate(now, 'now');
    if (ids.length > 0) await this.#exec(this.#q.markPublished, [ids, now]);
  }

  async claimRuns(requests: ClaimRequest[], ctx: ClaimContext): Promise<ClaimResult[]> {
    v.checkArray<ClaimRequest>(requests, 'requests').forEach((r, i) => {
      v.checkObject(r, `requests[${i}]`);
      if (typeof r.runId !== 'string') v.checkString(r.runId, `requests[${i}].runId`);
      v.checkPositiveInt(r.attempt, `requests[${i}].attempt`);
    });
    v.checkContext(ctx);
    const ids = [...new Set(requests.map((r) => r.runId).filter(v.isUuid))];
    if (ids.length === 0) return requests.map((r) => ({ runId: r.runId, outcome: 'not_found', run: null, job: null }));

    return this.#tx(async (exec) => {
      // Jobs first, in key order (the lock order every writer of runs follows), then runs.
      const jobRows = (await exec(this.#q.jobsOfRuns, [ids])).rows.map(toJob);
      const jobs = new Map(jobRows.map((j) => [jobKey(j.scope, j.jobId), j]));
      const counted = jobRows.filter((j) => j.overlap !== 'allowAll');
      const runRows = (await exec(this.#q.lockRuns, [ids, counted.map((j) => j.scope), counted.map((j) => j.jobId)])).rows.map(toRun);
      const runs = new Map(runRows.map((r) => [r.runId, r]));
      const plan = planClaims(requests, runs, jobs, ctx);
      const written = await this.#updateRuns(exec, plan.updates);
      return plan.results.map((result) => (result.run && written.has(result.run.runId) ? { ...result, run: written.get(result.run.runId)! } : result));
    });
  }

  /** Writes planned run rows in one statement; returns them as stored. */
  async #updateRuns(exec: Exec, updates: Map<string, RunRecord>): Promise<Map<string, RunRecord>> {
    if (updates.size === 0) return new Map();
    const runs = [...updates.values()];
    const value: Record<(typeof RUN_UPDATE_COLUMNS)[number][0], (r: RunRecord) => unknown> = {
      status: (r) => r.status,
      attempt: (r) => r.attempt,
      available_at: (r) => r.availableAt,
      lease_until: (r) => r.leaseUntil,
      worker_id: (r) => r.workerId,
      started_at: (r) => r.startedAt,
      finished_at: (r) => r.finishedAt,
      error: (r) => r.error,
      published_at: (r) => r.publishedAt,
      cancel_requested_at: (r) => r.cancelRequestedAt,
      attempts: (r) => JSON.stringify(r.attempts.map(attemptJson)),
    };
    const { rows } = await exec(this.#q.updateRuns, [runs.map((r) => r.runId), ...RUN_UPDATE_COLUMNS.map(([name]) => runs.map(value[name]))]);
    return new Map(rows.map((row) => [row.run_id as string, toRun(row)]));
  }

  async heartbeat(runIds: string[], ctx: ClaimContext): Promise<HeartbeatResult> {
    const requested = v.checkArray<string>(runIds, 'runIds');
    v.checkContext(ctx);
    const ids = [...new Set(requested.filter(v.isUuid))];
    const { rows } = ids.length === 0 ? { rows: [] } : await this.#exec(this.#q.heartbeat, [ids, ctx.workerId, new Date(ctx.now.getTime() + ctx.leaseMs)]);
    const held = new Map(rows.map((r) => [r.run_id as string, r.cancel_requested_at as Date | null]));
    const extended = requested.filter((id) => held.has(id));
    const cancel = requested.filter((id) => !held.has(id) || held.get(id) !== null);
    return { extended, cancel };
  }

  async completeRuns(completions: Completion[]): Promise<CompletionResult[]> {
    v.checkArray<Completion>(completions, 'completions').forEach((c, i) => checkCompletion(c, i));
    const ids = [...new Set(completions.map((c) => c.runId).filter(v.isUuid))];
    if (ids.length === 0) return completions.map((c) => ({ runId: c.runId, applied: false, run: null, nextRun: null }));

    return this.#tx(async (exec) => {
      const jobRows = (await exec(this.#q.jobsOfRuns, [ids])).rows.map(toJob);
      const jobs = new Map(jobRows.map((j) => [jobKey(j.scope, j.jobId), j]));
      const runRows = (await exec(this.#q.lockRuns, [ids, [], []])).rows.map(toRun);
      const plan = planCompletions(completions, new Map(runRows.map((r) => [r.runId, r])), jobs);
      const written = await this.#updateRuns(exec, plan.updates);
      if (plan.jobUpdates.size > 0) {
        const u = [...plan.jobUpdates.values()];
        await exec(this.#q.updateJobsAfterRuns, [
          u.map((x) => x.scope), u.map((x) => x.jobId), u.map((x) => x.lastRunAt), u.map((x) => x.lastStatus),
          u.map((x) => x.nextDueAt !== undefined), u.map((x) => x.nextDueAt ?? null),
        ]);
      }
      const links = plan.chain.length === 0 ? [] : await this.#insertRuns(exec, plan.chain, completions[plan.chain[0]!.index]!.finishedAt);
      const linkById = new Map(links.map((r) => [r.runId, r]));
      const nextOf = new Map(plan.chain.map((c) => [c.index, linkById.get(c.run.runId) ?? null]));
      return plan.results.map((result, i) => ({
        ...result,
        run: result.applied && written.has(result.runId) ? written.get(result.runId)! : result.run,
        nextRun: nextOf.get(i) ?? null,
      }));
    });
  }

  async expiredLeases(scope: string, now: Date, limit: number): Promise<RunRecord[]> {
    v.checkScope(scope);
    const { rows } = await this.#exec(this.#q.expiredLeases, [scope, v.checkDate(now, 'now'), v.checkPositiveInt(limit, 'limit')]);
    return rows.map(toRun);
  }

  async brokenChains(scope: string, before: Date, limit: number): Promise<JobRecord[]> {
    v.checkScope(scope);
    const { rows } = await this.#exec(this.#q.brokenChains, [scope, v.checkDate(before, 'before'), v.checkPositiveInt(limit, 'limit')]);
    return rows.map(toJob);
  }

  async countRunning(scope: string, jobId: string, now: Date): Promise<number> {
    this.#jobArgs(scope, jobId);
    const { rows } = await this.#exec(this.#q.countRunning, [scope, jobId, v.checkDate(now, 'now')]);
    return Number(rows[0]?.n ?? 0);
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    if (typeof runId !== 'string') v.checkString(runId, 'runId');
    if (!v.isUuid(runId)) return null;
    const { rows } = await this.#exec(this.#q.getRun, [runId]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  async listRuns(scope: string, opts: ListRunsOptions = {}): Promise<RunRecord[]> {
    v.checkScope(scope);
    const o = v.checkObject(opts ?? {}, 'opts') as ListRunsOptions;
    if (o.jobId !== undefined) v.checkJobId(o.jobId, 'opts.jobId');
    const statuses = o.status === undefined ? null : Array.isArray(o.status) ? o.status : [o.status];
    const limit = o.limit === undefined ? 50 : v.checkPositiveInt(o.limit, 'opts.limit');
    const { rows } = await this.#exec(this.#q.listRuns, [scope, o.jobId ?? null, statuses, limit]);
    return rows.map(toRun);
  }

  // ── leadership ───────────────────────────────────────────────────────────

  async acquireLeadership(scope: string, instanceId: string, ttlMs: number, now: Date): Promise<LeadershipState> {
    v.checkScope(scope);
    v.checkString(instanceId, 'instanceId');
    v.checkPositiveInt(ttlMs, 'ttlMs');
    v.checkDate(now, 'now');
    const row = await this.#tx(async (exec) => {
      // Transaction-scoped: released at COMMIT, so it is safe on a pooled (or PgBouncer) connection.
      await exec(this.#q.leaderLock, [advisoryKey(`warren:leader:${this.schema}:${scope}`)]);
      const taken = await exec(this.#q.acquireLease, [scope, instanceId, new Date(now.getTime() + ttlMs), now]);
      return taken.rows[0] ?? (await exec(this.#q.getLease, [scope])).rows[0];
    });
    const state = leadershipOf(row, now, instanceId);
    debug('leadership of %s for %s: %s', scope, instanceId, state.leader ? `held, epoch ${state.fence?.epoch}` : `held by ${state.holder}`);
    return state;
  }

  async releaseLeadership(scope: string, instanceId: string): Promise<void> {
    v.checkScope(scope);
    v.checkString(instanceId, 'instanceId');
    await this.#exec(this.#q.releaseLease, [scope, instanceId]);
  }

  async getLeadership(scope: string, now: Date): Promise<LeadershipState> {
    v.checkScope(scope);
    v.checkDate(now, 'now');
    const { rows } = await this.#exec(this.#q.getLease, [scope]);
    return leadershipOf(rows[0], now, null);
  }

  // ── audit and change notification ────────────────────────────────────────

  async appendAudit(scope: string, entry: NewAuditEntry): Promise<void> {
    v.checkScope(scope);
    const e = v.checkObject(entry, 'entry') as unknown as NewAuditEntry;
    v.checkJobId(e.jobId, 'entry.jobId');
    v.checkString(e.action, 'entry.action');
    await this.#exec(this.#q.appendAudit, [scope, e.jobId, e.action, e.actor ?? null, JSON.stringify(e.details ?? {}), v.checkDate(e.at, 'entry.at')]);
  }

  async listAudit(scope: string, opts: { jobId?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    v.checkScope(scope);
    const o = v.checkObject(opts ?? {}, 'opts') as { jobId?: string; limit?: number };
    if (o.jobId !== undefined) v.checkJobId(o.jobId, 'opts.jobId');
    const limit = o.limit === undefined ? 50 : v.checkPositiveInt(o.limit, 'opts.limit');
    const { rows } = await this.#exec(this.#q.listAudit, [scope, o.jobId ?? null, limit]);
    return rows.map(toAudit);
  }

  async notifyJobChange(scope: string, jobId: string): Promise<void> {
    this.#jobArgs(scope, jobId);
    await this.#exec(this.#q.notify, [notifyChannel(this.schema), JSON.stringify({ scope, jobId } satisfies JobChange)]);
  }

  async onJobChange(scope: string, listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    v.checkScope(scope);
    if (typeof listener !== 'function') v.fail('listener', 'a function', listener);
    return this.#listener.subscribe(scope, listener);
  }

  async close(): Promise<void> {
    await this.#listener.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #jobArgs(scope: string, jobId: string): void {
    v.checkScope(scope);
    v.checkJobId(jobId);
  }
}

function notFound(scope: string, jobId: string): WarrenError {
  return new WarrenError('ERR_JOB_NOT_FOUND', `Job \`${jobId}\` not found in scope \`${scope}\``, { field: 'jobId', details: { scope, jobId } });
}

function leadershipOf(row: Record<string, any> | undefined, now: Date, instanceId: string | null): LeadershipState {
  const expiresAt = (row?.expires_at as Date | null | undefined) ?? null;
  const live = row !== undefined && row.holder !== null && expiresAt !== null && expiresAt.getTime() > now.getTime();
  if (!live) return { leader: false, fence: null, holder: null, expiresAt: null };
  const holder = row.holder as string;
  const leader = instanceId === null || holder === instanceId;
  return { leader: instanceId === null ? true : leader, fence: leader ? { instanceId: holder, epoch: Number(row.fence_epoch) } : null, holder, expiresAt };
}

function checkNewRuns(value: unknown, field: string): void {
  v.checkArray<NewRun>(value, field).forEach((run, i) => {
    const f = `${field}[${i}]`;
    v.checkObject(run, f);
    if (!v.isUuid(run.runId)) v.fail(`${f}.runId`, 'a uuid', run.runId);
    v.checkJobId(run.jobId, `${f}.jobId`);
    v.checkDate(run.scheduledFor, `${f}.scheduledFor`);
    v.checkDate(run.availableAt, `${f}.availableAt`);
    v.checkDateOrNull(run.staleAt ?? null, `${f}.staleAt`);
    if (typeof run.epoch !== 'number' || !Number.isInteger(run.epoch)) v.fail(`${f}.epoch`, 'an integer', run.epoch);
    if (run.attempt !== undefined) v.checkPositiveInt(run.attempt, `${f}.attempt`);
  });
}

function checkCompletion(c: Completion, i: number): void {
  const f = `completions[${i}]`;
  v.checkObject(c, f);
  if (typeof c.runId !== 'string') v.checkString(c.runId, `${f}.runId`);
  v.checkPositiveInt(c.attempt, `${f}.attempt`);
  const guard = v.checkObject(c.guard, `${f}.guard`);
  if ('workerId' in guard) v.checkString(guard.workerId, `${f}.guard.workerId`);
  else v.checkDate(guard.leaseExpiredBefore, `${f}.guard.leaseExpiredBefore`);
  v.checkDate(c.finishedAt, `${f}.finishedAt`);
  if (c.retryAt !== undefined) v.checkDate(c.retryAt, `${f}.retryAt`);
  if (c.next !== undefined) {
    v.checkObject(c.next, `${f}.next`);
    checkNewRuns([c.next.run], `${f}.next.run`);
    v.checkDate(c.next.nextDueAt, `${f}.next.nextDueAt`);
  }
}
