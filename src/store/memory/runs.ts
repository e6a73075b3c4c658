import { staleOutcome } from '../stale.js';
import type { ClaimContext, ClaimRequest, ClaimResult, Completion, CompletionResult, HeartbeatResult, RunRecord } from '../port.js';
import { type MemoryState, clone, insertRun, jobKey, liveRunsOf } from './state.js';
import { guardHolds, retryStaleAt } from '../pg/decide.js';
import { workerGone } from './liveness.js';

function finish(run: RunRecord, status: RunRecord['status'], now: Date, error: string | null): void {
  run.status = status;
  run.finishedAt = new Date(now);
  run.error = error;
}

/**
 * Claims runs in request order. Unlike the single Postgres statement, each request sees
 * the claims made before it in the same batch (sequential and deterministic).
 */
export function claimRuns(state: MemoryState, requests: readonly ClaimRequest[], ctx: ClaimContext): ClaimResult[] {
  const now = ctx.now;
  return requests.map((request): ClaimResult => {
    const run = state.runs.get(request.runId);
    const job = run ? state.jobs.get(jobKey(run.scope, run.jobId)) : undefined;
    if (!run) return { runId: request.runId, outcome: 'not_found', run: null, job: null };
    if (!job) return { runId: request.runId, outcome: 'not_found', run: clone(run), job: null };
    const answer = (outcome: ClaimResult['outcome']): ClaimResult => ({ runId: run.runId, outcome, run: clone(run), job: clone(job) });

    if (run.status !== 'pending' || run.attempt !== request.attempt) return answer('duplicate');
    // A manual run belongs to no slot or chain, so a pause/resume does not invalidate it.
    if (run.epoch !== job.epoch && run.triggerSource !== 'manual') {
      finish(run, 'cancelled', now, 'the job was paused or rescheduled (epoch moved on)');
      return answer('stale_epoch');
    }
    if (run.staleAt !== null && now.getTime() > run.staleAt.getTime()) {
      const { status, error } = staleOutcome(run);
      finish(run, status, now, error);
      return answer('expired');
    }
    if (now.getTime() < run.availableAt.getTime()) return answer('early');

    const live = liveRunsOf(state, run.scope, run.jobId, now);
    if (job.overlap !== 'allowAll' && live.length >= job.maxParallel) {
      // `skip` passes over a scheduled slot; a run somebody asked for (manual, catch-up,
      // backfill, startup, a chain link) waits for room instead of vanishing.
      if (job.overlap === 'skip' && run.triggerSource === 'scheduler') {
        finish(run, 'skipped', now, `overlap: ${live.length} running, maxParallel ${job.maxParallel}`);
        return answer('skipped');
      }
      if (job.overlap !== 'cancelOther') return answer('busy');
      // cancelOther: ask the oldest running ones to stop, just enough to make room for this
      // one (runs already asked to stop are on their way out and are not asked twice).
      const active = live
        .filter((other) => other.cancelRequestedAt === null)
        .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0));
      for (const other of active.slice(0, Math.max(0, active.length - job.maxParallel + 1))) other.cancelRequestedAt = new Date(now);
    }
    run.status = 'running';
    run.workerId = ctx.workerId;
    run.startedAt = new Date(now);
    run.leaseUntil = new Date(now.getTime() + ctx.leaseMs);
    return answer('claimed');
  });
}

/** Extends the caller's live leases; anything it may not keep running goes to `cancel`. */
export function heartbeat(state: MemoryState, runIds: readonly string[], ctx: ClaimContext): HeartbeatResult {
  const extended: string[] = [];
  const cancel: string[] = [];
  for (const runId of runIds) {
    const run = state.runs.get(runId);
    // A lease that ran out but was not reaped yet is still this worker's: the reaper's
    // guard (lease expired before now) fails once it is extended, so nobody runs it twice.
    if (!run || run.status !== 'running' || run.workerId !== ctx.workerId) {
      cancel.push(runId);
      continue;
    }
    // A run asked to stop keeps its lease while its handler winds down.
    run.leaseUntil = new Date(ctx.now.getTime() + ctx.leaseMs);
    extended.push(runId);
    if (run.cancelRequestedAt !== null) cancel.push(runId);
  }
  return { extended, cancel };
}

/** Records results; a guard that fails leaves its run untouched. */
export function completeRuns(state: MemoryState, completions: readonly Completion[]): CompletionResult[] {
  return completions.map((c): CompletionResult => {
    const run = state.runs.get(c.runId);
    const gone =
      'workerGone' in c.guard && workerGone(state, c.guard.workerGone, c.guard.absentBefore)
        ? new Set([c.guard.workerGone])
        : new Set<string>();
    if (!run || !guardHolds(run, c, gone)) return { runId: c.runId, applied: false, run: run ? clone(run) : null, nextRun: null };

    const retryAt = c.retryAt;
    const retry = retryAt !== undefined;
    if (retry) {
      // Read from the row before the reset (attempt, available_at).
      run.staleAt = retryStaleAt(run, retryAt);
      run.attempts.push({
        attempt: run.attempt,
        workerId: run.workerId,
        startedAt: run.startedAt,
        finishedAt: new Date(c.finishedAt),
        status: c.status,
        error: c.error,
        retryAt: new Date(retryAt),
      });
      run.status = 'pending';
      run.attempt += 1;
      run.availableAt = new Date(retryAt);
      // The retry's trigger is a new message: the outbox must see it unpublished.
      run.publishedAt = null;
      run.leaseUntil = null;
      run.workerId = null;
      run.startedAt = null;
      run.finishedAt = null;
      run.cancelRequestedAt = null;
      run.error = c.error;
    } else {
      // Every finished attempt goes into the history, the last one too.
      run.attempts.push({
        attempt: run.attempt,
        workerId: run.workerId,
        startedAt: run.startedAt,
        finishedAt: new Date(c.finishedAt),
        status: c.status,
        error: c.error,
        retryAt: null,
      });
      finish(run, c.status, c.finishedAt, c.error);
      run.leaseUntil = null;
    }

    const job = state.jobs.get(jobKey(run.scope, run.jobId));
    let nextRun: RunRecord | null = null;
    // The job's last run is a finished one, and a chain moves on only once the run is
    // over: an attempt that will be retried is neither.
    if (job && !retry) {
      job.lastRunAt = new Date(c.finishedAt);
      job.lastStatus = c.status;
      // A chain whose job was paused/resumed since this run was made dies here instead of doubling.
      if (c.next && job.epoch === run.epoch) {
        nextRun = insertRun(state, run.scope, c.next.run, c.finishedAt);
        job.nextDueAt = new Date(c.next.nextDueAt);
      }
    }
    return { runId: c.runId, applied: true, run: clone(run), nextRun: nextRun ? clone(nextRun) : null };
  });
}
