/**
 * The run state machine, once for every store: what a claim batch and a completion batch
 * decide (overlap, epoch, stale deadlines, retries, cancel requests, chain links), as pure
 * functions over the rows the store read. PgStore passes the rows locked in its transaction,
 * MemoryStore the records in its maps; each only writes the decided updates. Requests are
 * applied in order against an evolving view, so a batch behaves exactly like the same
 * requests one at a time. The rows passed in are never mutated, and a decided row holds no
 * Date of the caller's arguments (each is copied), so a store may keep it as it is.
 */
import { staleOutcome } from './stale.js';
import type {
  AttemptRecord,
  ClaimContext,
  ClaimResult,
  Completion,
  CompletionResult,
  JobRecord,
  NewRun,
  RunRecord,
  RunStatus,
  ClaimRequest,
} from './port.js';
import { CLAIM_AHEAD_MAX_MS } from './port.js';

export const jobKey = (scope: string, jobId: string): string => `${scope}\u0000${jobId}`;

/** Why a claim cancelled a run of an older epoch (a pause, resume or queue-mode reschedule since it was made). */
export const STALE_EPOCH_REASON = 'stale epoch: the job was paused, resumed or rescheduled after this run was made';
/** Why removeJob cancelled a pending run. */
export const JOB_REMOVED_REASON = 'job removed';

/** Why `skip` passed over a scheduled slot, at planning (the tick) or at claim time alike. */
export function overlapSkipReason(running: number, maxParallel: number): string {
  return `overlap skip (${running} running, maxParallel ${maxParallel})`;
}

/**
 * cancelOther: which running runs to ask to stop so that one more fits within maxParallel:
 * the oldest first (started earliest, then the lower run id), and never one already asked
 * (it is on its way out, and is not asked twice).
 */
export function cancelOtherVictims(live: readonly RunRecord[], maxParallel: number): RunRecord[] {
  const active = live
    .filter((r) => r.cancelRequestedAt === null)
    .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  return active.slice(0, Math.max(0, active.length - maxParallel + 1));
}

/** When a claimed run starts (epoch ms): now, or a held trigger's instant, at most CLAIM_AHEAD_MAX_MS ahead. */
export function claimStart(request: ClaimRequest, now: number): number {
  return request.startAt === undefined ? now : Math.max(now, Math.min(request.startAt.getTime(), now + CLAIM_AHEAD_MAX_MS));
}

export interface ClaimPlan {
  results: ClaimResult[];
  /** Rows to write, keyed by run id, with their final values. */
  updates: Map<string, RunRecord>;
}

export function planClaims(
  requests: readonly ClaimRequest[],
  runs: Map<string, RunRecord>,
  jobs: Map<string, JobRecord>,
  ctx: ClaimContext,
): ClaimPlan {
  const now = ctx.now.getTime();
  const updates = new Map<string, RunRecord>();
  const view = new Map(runs);
  const write = (run: RunRecord) => {
    view.set(run.runId, run);
    updates.set(run.runId, run);
    return run;
  };
  const finish = (run: RunRecord, status: RunStatus, error: string) =>
    write({ ...run, status, error, finishedAt: new Date(now), leaseUntil: null });
  const liveRunning = (job: JobRecord) =>
    [...view.values()].filter(
      (r) =>
        r.scope === job.scope && r.jobId === job.jobId && r.status === 'running' && r.leaseUntil !== null && r.leaseUntil.getTime() > now,
    );

  const results = requests.map((request): ClaimResult => {
    const run = view.get(request.runId);
    if (!run) return { runId: request.runId, outcome: 'not_found', run: null, job: null };
    const job = jobs.get(jobKey(run.scope, run.jobId)) ?? null;
    if (!job) return { runId: request.runId, outcome: 'not_found', run, job: null };
    const result = (outcome: ClaimResult['outcome'], r: RunRecord): ClaimResult => ({ runId: request.runId, outcome, run: r, job });
    // A run claimed just ahead of its start (a held trigger) starts then: not before it is available.
    const startsAt = claimStart(request, now);
    if (run.status !== 'pending' || run.attempt !== request.attempt) return result('duplicate', run);
    // A manual run belongs to no chain or slot, so a pause/resume does not invalidate it.
    if (run.epoch !== job.epoch && run.triggerSource !== 'manual')
      return result('stale_epoch', finish(run, 'cancelled', STALE_EPOCH_REASON));
    if (run.staleAt !== null && now > run.staleAt.getTime()) {
      const { status, error } = staleOutcome(run);
      return result('expired', finish(run, status, error));
    }
    if (run.availableAt.getTime() > startsAt) return result('early', run);
    if (job.overlap !== 'allowAll') {
      const live = liveRunning(job);
      if (live.length >= job.maxParallel) {
        // `skip` passes over a scheduled slot; a run somebody asked for (manual, catch-up,
        // backfill, startup, a chain link) waits for room instead of vanishing.
        if (job.overlap === 'bufferOne' || job.overlap === 'bufferAll' || (job.overlap === 'skip' && run.triggerSource !== 'scheduler'))
          return result('busy', run);
        if (job.overlap === 'skip') return result('skipped', finish(run, 'skipped', overlapSkipReason(live.length, job.maxParallel)));
        for (const other of cancelOtherVictims(live, job.maxParallel)) write({ ...other, cancelRequestedAt: new Date(now) });
      }
    }
    return result(
      'claimed',
      write({
        ...run,
        status: 'running',
        leaseUntil: new Date(now + ctx.leaseMs),
        workerId: ctx.workerId,
        startedAt: new Date(startsAt),
        // A cancel request belongs to the attempt it was made for, never to the next one.
        cancelRequestedAt: null,
      }),
    );
  });
  return { results, updates };
}

export interface CompletionPlan {
  results: CompletionResult[];
  updates: Map<string, RunRecord>;
  /** Per job: the last final status and when, and a chain's next_due_at. */
  jobUpdates: Map<string, { scope: string; jobId: string; lastRunAt: Date | null; lastStatus: RunStatus | null; nextDueAt?: Date }>;
  /** Chain links to insert, with the index of the completion they belong to. */
  chain: Array<{ scope: string; run: NewRun; index: number }>;
  /** The links' creation instant: the finish of the first completion that made one (one insert per batch). */
  chainCreatedAt: Date | null;
}

/**
 * The workers a batch's `workerGone` guards name, with the cutoff each must have been absent
 * since (the last one asked wins); the store answers which of them are still gone.
 */
export function goneAsked(completions: readonly Completion[]): Map<string, Date> {
  const asked = new Map<string, Date>();
  for (const c of completions) if ('workerGone' in c.guard) asked.set(c.guard.workerGone, c.guard.absentBefore);
  return asked;
}

/** `gone`: the workers a `workerGone` guard may act on (their liveness lock still absent, checked by the store). */
export function planCompletions(
  completions: readonly Completion[],
  runs: Map<string, RunRecord>,
  jobs: Map<string, JobRecord>,
  gone: ReadonlySet<string> = new Set(),
): CompletionPlan {
  const view = new Map(runs);
  const updates = new Map<string, RunRecord>();
  const jobUpdates: CompletionPlan['jobUpdates'] = new Map();
  const chain: CompletionPlan['chain'] = [];

  const results = completions.map((c, index): CompletionResult => {
    const run = view.get(c.runId);
    if (!run || !guardHolds(run, c, gone)) return { runId: c.runId, applied: false, run: run ?? null, nextRun: null };
    const record: AttemptRecord = {
      attempt: run.attempt,
      workerId: run.workerId,
      startedAt: run.startedAt,
      finishedAt: new Date(c.finishedAt),
      status: c.status,
      error: c.error,
      retryAt: c.retryAt ? new Date(c.retryAt) : null,
    };
    const attempts = [...run.attempts, record];
    let next: RunRecord;
    const key = jobKey(run.scope, run.jobId);
    if (c.retryAt) {
      // Back to pending for the next attempt; the outbox republishes it if the retry publish is lost.
      next = {
        ...run,
        status: 'pending',
        attempt: run.attempt + 1,
        availableAt: new Date(c.retryAt),
        staleAt: retryStaleAt(run, c.retryAt),
        leaseUntil: null,
        workerId: null,
        startedAt: null,
        finishedAt: null,
        error: c.error,
        publishedAt: null,
        cancelRequestedAt: null,
        attempts,
      };
    } else {
      next = { ...run, status: c.status, finishedAt: new Date(c.finishedAt), error: c.error, leaseUntil: null, attempts };
      const job = jobs.get(key);
      if (job) {
        const entry = jobUpdates.get(key) ?? { scope: run.scope, jobId: run.jobId, lastRunAt: null, lastStatus: null };
        entry.lastRunAt = c.finishedAt;
        entry.lastStatus = c.status;
        // A chain whose job was paused/resumed (epoch moved) dies here instead of doubling.
        if (c.next && job.epoch === run.epoch) {
          entry.nextDueAt = c.next.nextDueAt;
          chain.push({ scope: run.scope, run: c.next.run, index });
        }
        jobUpdates.set(key, entry);
      }
    }
    view.set(run.runId, next);
    updates.set(run.runId, next);
    return { runId: c.runId, applied: true, run: next, nextRun: null };
  });
  return { results, updates, jobUpdates, chain, chainCreatedAt: chain.length === 0 ? null : completions[chain[0]!.index]!.finishedAt };
}

/**
 * A retry's stale deadline: the slot's window (stale_at - scheduled_for) measured from when
 * the retry becomes available, so a run that failed late in its window is retried, not
 * expired. `run` is the row before the reset; from the second attempt on its stale_at was
 * already shifted to available_at + window, so the window is read from there (no growth).
 */
export function retryStaleAt(run: Pick<RunRecord, 'staleAt' | 'scheduledFor' | 'availableAt' | 'attempt'>, retryAt: Date): Date | null {
  if (run.staleAt === null) return null;
  const from = run.attempt > 1 ? run.availableAt : run.scheduledFor;
  return new Date(retryAt.getTime() + (run.staleAt.getTime() - from.getTime()));
}

export function guardHolds(run: RunRecord, c: Completion, gone: ReadonlySet<string>): boolean {
  if (run.status !== 'running' || run.attempt !== c.attempt) return false;
  if ('workerId' in c.guard) return run.workerId === c.guard.workerId;
  if ('workerGone' in c.guard) return run.workerId === c.guard.workerGone && gone.has(c.guard.workerGone);
  return run.leaseUntil !== null && run.leaseUntil.getTime() < c.guard.leaseExpiredBefore.getTime();
}
