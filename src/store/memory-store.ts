import type { JobConfig, JobConfigKey } from '../define/types.js';
import { JOB_REMOVED_REASON, jobKey } from './decide.js';
import { acquireLeadership, checkFence, getLeadership, releaseLeadership } from './memory/leadership.js';
import { MemoryLiveness, deadWorkerRuns } from './memory/liveness.js';
import { claimRuns, completeRuns, heartbeat } from './memory/runs.js';
import { pruneRuns, retentionCutoffs } from './memory/retention.js';
import { type MemoryState, clone, createState, insertRun, liveRunsOf, runsOf, sameInstant } from './memory/state.js';
import { checkScope, jobNotFound } from './validate.js';
import * as v from './validate-calls.js';
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
} from './port.js';
import { FAILURE_STATUSES } from './port.js';

const { CONFIG_KEYS } = v;

function writeKeys(job: JobRecord, config: Partial<JobConfig>, keys: Iterable<JobConfigKey>): void {
  for (const key of keys) {
    if (config[key] !== undefined) (job as unknown as Record<string, unknown>)[key] = clone(config[key]);
  }
}

function byDueThenId(a: JobRecord, b: JobRecord): number {
  return a.nextDueAt!.getTime() - b.nextDueAt!.getTime() || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

/**
 * The in-memory store of `warren/testing`: the same contract as PgStore (one suite runs
 * against both), deterministic (time only from the `now` it is given, no randomness), and
 * atomic per call since each call's body runs synchronously. Records are deep-copied in
 * and out, and job-change notifications arrive asynchronously, like Postgres NOTIFY.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly #state: MemoryState = createState();

  // ── jobs ──────────────────────────────────────────────────────────────────
  async syncJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord> {
    v.checkWriteJobArgs(scope, jobId, config, opts);
    const job = this.#state.jobs.get(jobKey(scope, jobId));
    if (!job) return clone(this.#insertJob(scope, jobId, config, [], opts));
    writeKeys(
      job,
      config,
      CONFIG_KEYS.filter((key) => !job.overridden.includes(key)),
    );
    job.updatedAt = new Date(opts.now);
    return clone(job);
  }

  async upsertJob(scope: string, jobId: string, config: JobConfig, opts: { now: Date; nextDueAt: Date | null }): Promise<JobRecord> {
    v.checkWriteJobArgs(scope, jobId, config, opts);
    const job = this.#state.jobs.get(jobKey(scope, jobId));
    if (!job) return clone(this.#insertJob(scope, jobId, config, [...CONFIG_KEYS], opts));
    writeKeys(job, config, CONFIG_KEYS);
    job.overridden = [...CONFIG_KEYS];
    if (job.enabled) job.pauseNote = null;
    job.nextDueAt = opts.nextDueAt === null ? null : new Date(opts.nextDueAt);
    job.updatedAt = new Date(opts.now);
    return clone(job);
  }

  async updateJob(scope: string, jobId: string, patch: Partial<JobConfig>, opts: UpdateJobOptions): Promise<JobRecord> {
    v.checkUpdateJobArgs(scope, jobId, patch, opts);
    const job = this.#requireJob(scope, jobId);
    const keys = CONFIG_KEYS.filter((key) => patch[key] !== undefined);
    writeKeys(job, patch, keys);
    for (const key of keys) if (!job.overridden.includes(key)) job.overridden.push(key);
    if (patch.enabled === true) job.pauseNote = null;
    if (opts.nextDueAt !== undefined) job.nextDueAt = opts.nextDueAt === null ? null : new Date(opts.nextDueAt);
    if (opts.bumpEpoch) job.epoch += 1;
    job.updatedAt = new Date(opts.now);
    return clone(job);
  }

  async getJob(scope: string, jobId: string): Promise<JobRecord | null> {
    v.checkJobArgs(scope, jobId);
    const job = this.#state.jobs.get(jobKey(scope, jobId));
    return job ? clone(job) : null;
  }

  async listJobs(scope: string): Promise<JobRecord[]> {
    checkScope(scope);
    return this.#jobsOf(scope)
      .sort((a, b) => (a.jobId < b.jobId ? -1 : 1))
      .map(clone);
  }

  async removeJob(scope: string, jobId: string, now: Date): Promise<boolean> {
    v.checkJobNowArgs(scope, jobId, now);
    const key = jobKey(scope, jobId);
    if (!this.#state.jobs.delete(key)) return false;
    for (const run of runsOf(this.#state, scope, jobId)) {
      if (run.status === 'pending') {
        run.status = 'cancelled';
        run.finishedAt = new Date(now);
        run.error = JOB_REMOVED_REASON;
      } else if (run.status === 'running') {
        run.cancelRequestedAt ??= new Date(now);
      }
    }
    return true;
  }

  async setEnabled(scope: string, jobId: string, enabled: boolean, opts: SetEnabledOptions): Promise<JobRecord> {
    v.checkSetEnabledArgs(scope, jobId, enabled, opts);
    const job = this.#requireJob(scope, jobId);
    job.enabled = enabled;
    job.pauseNote = enabled ? null : (opts.note ?? null);
    // A pause is a run-time setting: it survives a code sync like any override.
    if (!job.overridden.includes('enabled')) job.overridden.push('enabled');
    job.epoch += 1;
    if (enabled && opts.nextDueAt !== undefined) job.nextDueAt = opts.nextDueAt === null ? null : new Date(opts.nextDueAt);
    job.updatedAt = new Date(opts.now);
    return clone(job);
  }

  async cancelClaimedAhead(scope: string, jobId: string, after: Date, reason: string, now: Date): Promise<number> {
    v.checkCancelAheadArgs(scope, jobId, after, reason, now);
    let cancelled = 0;
    for (const run of runsOf(this.#state, scope, jobId)) {
      if (run.status !== 'pending' || run.triggerSource !== 'scheduler' || run.scheduledFor.getTime() <= after.getTime()) continue;
      // Claimed after the change, under the new settings: not a slot of the old ones.
      if (run.createdAt.getTime() > now.getTime()) continue;
      // The new schedule's first slot too (the job's next_due_at): its slot key could not be claimed again.
      const job = this.#state.jobs.get(jobKey(scope, jobId));
      if (job?.enabled && job.nextDueAt !== null && job.nextDueAt.getTime() === run.scheduledFor.getTime()) continue;
      run.status = 'cancelled';
      run.error = reason;
      run.finishedAt = new Date(now);
      run.leaseUntil = null;
      cancelled += 1;
    }
    return cancelled;
  }

  async setNextDue(scope: string, jobId: string, expected: Date | null, next: Date | null): Promise<boolean> {
    v.checkSetNextDueArgs(scope, jobId, expected, next);
    const job = this.#state.jobs.get(jobKey(scope, jobId));
    if (!job || !sameInstant(job.nextDueAt, expected)) return false;
    job.nextDueAt = next === null ? null : new Date(next);
    return true;
  }

  async dueJobs(scope: string, before: Date, limit: number): Promise<JobRecord[]> {
    v.checkScanArgs(scope, before, 'before', limit);
    return this.#jobsOf(scope)
      .filter((job) => job.enabled && job.reschedule !== 'queue' && job.nextDueAt !== null && job.nextDueAt.getTime() <= before.getTime())
      .sort(byDueThenId)
      .slice(0, limit)
      .map(clone);
  }

  async earliestDue(scope: string): Promise<Date | null> {
    checkScope(scope);
    const due = this.#jobsOf(scope)
      .filter((job) => job.enabled && job.reschedule !== 'queue' && job.nextDueAt !== null)
      .sort(byDueThenId)[0];
    return due ? new Date(due.nextDueAt!) : null;
  }

  // ── slots and runs ───────────────────────────────────────────────────────
  async claimSlots(scope: string, fence: Fence | null, claims: SlotClaim[], now: Date): Promise<SlotClaimResult> {
    v.checkClaimSlotsArgs(scope, fence, claims, now);
    if (fence !== null) checkFence(this.#state, scope, fence, now);
    const result: SlotClaimResult = { claimed: [], conflicts: [], inserted: [] };
    for (const claim of claims) {
      const job = this.#state.jobs.get(jobKey(scope, claim.jobId));
      if (!job || !sameInstant(job.nextDueAt, claim.expectedNextDueAt)) {
        result.conflicts.push(claim.jobId);
        continue;
      }
      job.nextDueAt = claim.nextDueAt === null ? null : new Date(claim.nextDueAt);
      result.claimed.push(claim.jobId);
      for (const run of claim.runs) {
        const inserted = insertRun(this.#state, scope, run, now);
        if (inserted) result.inserted.push(clone(inserted));
      }
    }
    return result;
  }

  async insertRuns(scope: string, runs: NewRun[], now: Date): Promise<RunRecord[]> {
    v.checkInsertRunsArgs(scope, runs, now);
    const inserted: RunRecord[] = [];
    for (const run of runs) {
      const row = insertRun(this.#state, scope, run, now);
      if (row) inserted.push(clone(row));
    }
    return inserted;
  }

  async unpublishedRuns(scope: string, createdBefore: Date, limit: number, opts?: { republishBefore?: Date }): Promise<RunRecord[]> {
    const republishBefore = v.checkUnpublishedArgs(scope, createdBefore, limit, opts)?.getTime() ?? null;
    const lost = (run: RunRecord): boolean =>
      republishBefore !== null &&
      run.publishedAt !== null &&
      run.publishedAt.getTime() < republishBefore &&
      run.availableAt.getTime() < republishBefore;
    return this.#runsOfScope(scope)
      .filter(
        (run) => run.status === 'pending' && ((run.publishedAt === null && run.createdAt.getTime() < createdBefore.getTime()) || lost(run)),
      )
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || this.#seq(a) - this.#seq(b))
      .slice(0, limit)
      .map(clone);
  }

  async markPublished(runs: ReadonlyArray<PublishedRun>, now: Date): Promise<void> {
    for (const { runId, attempt } of v.checkMarkPublishedArgs(runs, now)) {
      const run = this.#state.runs.get(runId);
      // Keyed by attempt and still pending: a late mark never stamps a retry reset meanwhile.
      if (run && run.attempt === attempt && run.status === 'pending') run.publishedAt = new Date(now);
    }
  }

  async claimRuns(requests: ClaimRequest[], ctx: ClaimContext): Promise<ClaimResult[]> {
    v.checkClaimRunsArgs(requests, ctx);
    return claimRuns(this.#state, requests, ctx);
  }

  async heartbeat(runIds: string[], ctx: ClaimContext): Promise<HeartbeatResult> {
    v.checkHeartbeatArgs(runIds, ctx);
    return heartbeat(this.#state, runIds, ctx);
  }

  async completeRuns(completions: Completion[]): Promise<CompletionResult[]> {
    v.checkCompletions(completions);
    return completeRuns(this.#state, completions);
  }

  async expiredLeases(scope: string, now: Date, limit: number): Promise<RunRecord[]> {
    v.checkScanArgs(scope, now, 'now', limit);
    return this.#runsOfScope(scope)
      .filter((run) => run.status === 'running' && run.leaseUntil !== null && run.leaseUntil.getTime() < now.getTime())
      .sort((a, b) => a.leaseUntil!.getTime() - b.leaseUntil!.getTime() || this.#seq(a) - this.#seq(b))
      .slice(0, limit)
      .map(clone);
  }

  async deadWorkerRuns(scope: string, now: Date, graceMs: number, limit: number): Promise<RunRecord[]> {
    v.checkDeadWorkerRunsArgs(scope, now, graceMs, limit);
    return deadWorkerRuns(this.#state, scope, now, graceMs)
      .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0))
      .slice(0, limit)
      .map(clone);
  }

  async brokenChains(scope: string, before: Date, limit: number): Promise<JobRecord[]> {
    v.checkScanArgs(scope, before, 'before', limit);
    return this.#jobsOf(scope)
      .filter((job) => job.reschedule === 'queue' && job.enabled && job.nextDueAt !== null && job.nextDueAt.getTime() < before.getTime())
      .filter((job) => !runsOf(this.#state, scope, job.jobId).some((run) => run.status === 'pending' || run.status === 'running'))
      .sort(byDueThenId)
      .slice(0, limit)
      .map(clone);
  }

  async countRunning(scope: string, jobId: string, now: Date): Promise<number> {
    v.checkJobNowArgs(scope, jobId, now);
    return liveRunsOf(this.#state, scope, jobId, now).length;
  }

  async runningCounts(scope: string, jobIds: string[], now: Date): Promise<Map<string, RunCounts>> {
    const ids = v.checkRunningCountsArgs(scope, jobIds, now);
    return new Map(
      ids.map((id) => [
        id,
        {
          running: liveRunsOf(this.#state, scope, id, now).length,
          pending: runsOf(this.#state, scope, id).filter((run) => run.status === 'pending').length,
        },
      ]),
    );
  }

  async runSummaries(scope: string, jobIds: string[], now: Date, recent: number): Promise<Map<string, RunSummary>> {
    const ids = v.checkRunSummariesArgs(scope, jobIds, now, recent);
    return new Map(
      ids.map((id) => [
        id,
        {
          running: liveRunsOf(this.#state, scope, id, now).length,
          recentFailures: [...runsOf(this.#state, scope, id)]
            .sort((a, b) => this.#newestFirst(a, b))
            .slice(0, recent)
            .filter((run) => FAILURE_STATUSES.includes(run.status)).length,
        },
      ]),
    );
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    v.checkRunId(runId);
    const run = this.#state.runs.get(runId);
    return run ? clone(run) : null;
  }

  async listRuns(scope: string, opts: ListRunsOptions = {}): Promise<RunRecord[]> {
    const { opts: o, limit } = v.checkListArgs(scope, opts);
    const statuses = o.status === undefined ? null : new Set(Array.isArray(o.status) ? o.status : [o.status]);
    const source = o.jobId === undefined ? this.#runsOfScope(scope) : [...runsOf(this.#state, scope, o.jobId)];
    return source
      .filter((run) => statuses === null || statuses.has(run.status))
      .sort((a, b) => this.#newestFirst(a, b))
      .slice(0, limit)
      .map(clone);
  }

  // ── retention ────────────────────────────────────────────────────────────
  async retentionCutoffs(scope: string, defaults: RetentionDefaults, now: Date): Promise<PruneCutoff[]> {
    const d = v.checkRetentionCutoffsArgs(scope, defaults, now);
    return retentionCutoffs(this.#state, scope, d, now);
  }

  async pruneRuns(scope: string, cutoffs: PruneCutoff[], limit: number): Promise<Map<string, number>> {
    const list = v.checkPruneRunsArgs(scope, cutoffs, limit);
    return pruneRuns(this.#state, scope, list, limit);
  }

  // ── leadership ───────────────────────────────────────────────────────────
  async acquireLeadership(scope: string, instanceId: string, ttlMs: number, now: Date): Promise<LeadershipState> {
    v.checkAcquireLeadershipArgs(scope, instanceId, ttlMs, now);
    return acquireLeadership(this.#state, scope, instanceId, ttlMs, now);
  }

  async releaseLeadership(scope: string, instanceId: string): Promise<void> {
    v.checkReleaseLeadershipArgs(scope, instanceId);
    releaseLeadership(this.#state, scope, instanceId);
  }

  /** An open handle is the session lock; `createClient` has no meaning here. */
  holdLiveness(kind: LivenessKind, instanceId: string, options?: HoldLivenessOptions): LivenessHandle {
    const o = v.checkHoldLivenessArgs(kind, instanceId, options);
    return new MemoryLiveness(this.#state, kind, instanceId, o.onChange);
  }

  async getLeadership(scope: string, now: Date): Promise<LeadershipState> {
    v.checkGetLeadershipArgs(scope, now);
    return getLeadership(this.#state, scope, now);
  }

  // ── audit and change notification ────────────────────────────────────────
  async appendAudit(scope: string, entry: NewAuditEntry): Promise<void> {
    v.checkAppendAuditArgs(scope, entry);
    this.#state.audit.push({
      id: this.#state.audit.length + 1,
      scope,
      jobId: entry.jobId,
      action: entry.action,
      actor: entry.actor ?? null,
      details: clone(entry.details ?? {}),
      at: new Date(entry.at),
    });
  }

  async listAudit(scope: string, opts: { jobId?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    const { opts: o, limit } = v.checkListArgs(scope, opts);
    return this.#state.audit
      .filter((entry) => entry.scope === scope && (o.jobId === undefined || entry.jobId === o.jobId))
      .reverse()
      .slice(0, limit)
      .map(clone);
  }

  async notifyJobChange(scope: string, jobId: string): Promise<void> {
    v.checkJobArgs(scope, jobId);
    const listeners = [...(this.#state.listeners.get(scope) ?? [])];
    for (const listener of listeners) {
      // Delivered later, like NOTIFY after commit; a throwing listener harms no one else.
      queueMicrotask(() => {
        try {
          listener({ scope, jobId });
        } catch {
          // ignored, as a failing LISTEN handler would be
        }
      });
    }
  }

  async onJobChange(scope: string, listener: (change: JobChange) => void): Promise<() => Promise<void>> {
    v.checkOnJobChangeArgs(scope, listener);
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const subscription = (change: JobChange) => listener(change);
    let set = this.#state.listeners.get(scope);
    if (!set) this.#state.listeners.set(scope, (set = new Set()));
    set.add(subscription);
    return async () => {
      set.delete(subscription);
    };
  }

  async close(): Promise<void> {
    this.#state.listeners.clear();
  }

  // ── helpers ──────────────────────────────────────────────────────────────
  #insertJob(
    scope: string,
    jobId: string,
    config: JobConfig,
    overridden: JobConfigKey[],
    opts: { now: Date; nextDueAt: Date | null },
  ): JobRecord {
    const job = {
      scope,
      jobId,
      overridden,
      pauseNote: null,
      epoch: 0,
      nextDueAt: opts.nextDueAt === null ? null : new Date(opts.nextDueAt),
      lastRunAt: null,
      lastStatus: null,
      createdAt: new Date(opts.now),
      updatedAt: new Date(opts.now),
    } as unknown as JobRecord;
    writeKeys(job, config, CONFIG_KEYS);
    this.#state.jobs.set(jobKey(scope, jobId), job);
    return job;
  }

  #requireJob(scope: string, jobId: string): JobRecord {
    const job = this.#state.jobs.get(jobKey(scope, jobId));
    if (!job) throw jobNotFound(scope, jobId);
    return job;
  }

  #jobsOf(scope: string): JobRecord[] {
    return [...this.#state.jobs.values()].filter((job) => job.scope === scope);
  }

  #runsOfScope(scope: string): RunRecord[] {
    return [...this.#state.runs.values()].filter((run) => run.scope === scope);
  }

  #seq(run: RunRecord): number {
    return this.#state.runSeq.get(run.runId) ?? 0;
  }

  /** listRuns' order: newest first, the last inserted first among equals. */
  #newestFirst(a: RunRecord, b: RunRecord): number {
    return (
      b.createdAt.getTime() - a.createdAt.getTime() || b.scheduledFor.getTime() - a.scheduledFor.getTime() || this.#seq(b) - this.#seq(a)
    );
  }
}
