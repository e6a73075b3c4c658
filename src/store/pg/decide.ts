/**
 * The claim and completion state machine, as pure functions over rows already locked in
 * the caller's transaction. Requests are applied in order against an evolving view, so a
 * batch behaves exactly like the same requests one at a time (and like MemoryStore).
 */
import { staleOutcome } from '../stale.js';
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
} from '../port.js';
import type { ClaimRequest } from '../port.js';

export const jobKey = (scope: string, jobId: string): string => `${scope}\u0000${jobId}`;

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
    write({ ...run, status, error, finishedAt: ctx.now, leaseUntil: null });
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
    if (run.status !== 'pending' || run.attempt !== request.attempt) return result('duplicate', run);
    // A manual run belongs to no chain or slot, so a pause/resume does not invalidate it.
    if (run.epoch !== job.epoch && run.triggerSource !== 'manual') return result('stale_epoch', finish(run, 'cancelled', 'stale epoch'));
    if (run.staleAt !== null && now > run.staleAt.getTime()) {
      const { status, error } = staleOutcome(run);
      return result('expired', finish(run, status, error));
    }
    if (run.availableAt.getTime() > now) return result('early', run);
    if (job.overlap !== 'allowAll') {
      const live = liveRunning(job);
      if (live.length >= job.maxParallel) {
        // `skip` passes over a scheduled slot; a run somebody asked for (manual, catch-up,
        // backfill, startup, a chain link) waits for room instead of vanishing.
        if (job.overlap === 'bufferOne' || job.overlap === 'bufferAll' || (job.overlap === 'skip' && run.triggerSource !== 'scheduler'))
          return result('busy', run);
        if (job.overlap === 'skip')
          return result('skipped', finish(run, 'skipped', `overlap: ${live.length} run(s) still running (maxParallel ${job.maxParallel})`));
        // cancelOther: ask the oldest running runs to stop, just enough to make room for this one
        // (runs already asked are on their way out and are not asked twice).
        const active = live
          .filter((r) => r.cancelRequestedAt === null)
          .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0) || (a.runId < b.runId ? -1 : 1));
        for (const other of active.slice(0, Math.max(0, active.length - job.maxParallel + 1)))
          write({ ...other, cancelRequestedAt: ctx.now });
      }
    }
    return result(
      'claimed',
      write({
        ...run,
        status: 'running',
        leaseUntil: new Date(now + ctx.leaseMs),
        workerId: ctx.workerId,
        startedAt: ctx.now,
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
      finishedAt: c.finishedAt,
      status: c.status,
      error: c.error,
      retryAt: c.retryAt ?? null,
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
        availableAt: c.retryAt,
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
      next = { ...run, status: c.status, finishedAt: c.finishedAt, error: c.error, leaseUntil: null, attempts };
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
  return { results, updates, jobUpdates, chain };
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
