/**
 * Runs whose worker vanished: the worker acks the trigger once the run is claimed, so after
 * a crash only Postgres tells: the worker's liveness lock gone (docs/reliability.md), or,
 * for a worker without one or cut off while alive, its expired lease. The leader retries
 * such a run per its retry policy or fails it for good. The guards make the completion a
 * no-op if the worker came back and renewed (or finished) in the meantime.
 */
import { backoffDelayMs } from '../util/backoff.js';
import type { Completion, CompletionGuard, JobRecord, RunRecord, Store } from '../store/port.js';

export const LEASE_EXPIRED = 'lease expired (worker lost)';
export const WORKER_GONE = 'worker lost (its liveness lock was released: the process or its connection died)';

export interface ReapedRun {
  run: RunRecord;
  /** `retry`: pending again at the next attempt; `failed`: final. */
  outcome: 'retry' | 'failed';
}

export interface ReapResult {
  reaped: ReapedRun[];
  /** Runs back to pending for a retry: their triggers are the caller's to publish. */
  toPublish: RunRecord[];
  /** The scan hit its limit: more may be waiting. */
  full: boolean;
}

type JobOf = (jobId: string) => Promise<JobRecord | null>;

export async function reapExpiredLeases(store: Store, scope: string, now: Date, limit: number, jobOf: JobOf): Promise<ReapResult> {
  const expired = await store.expiredLeases(scope, now, limit);
  return { ...(await reap(store, expired, now, jobOf, () => ({ leaseExpiredBefore: now }), LEASE_EXPIRED)), full: expired.length >= limit };
}

/** The liveness pass: runs of workers whose lock has been absent for `graceMs` (its row saying it took it). */
export async function reapDeadWorkers(
  store: Store,
  scope: string,
  now: Date,
  graceMs: number,
  limit: number,
  jobOf: JobOf,
): Promise<ReapResult> {
  const dead = await store.deadWorkerRuns(scope, now, graceMs, limit);
  const absentBefore = new Date(now.getTime() - graceMs);
  return {
    ...(await reap(store, dead, now, jobOf, (run) => ({ workerGone: run.workerId!, absentBefore }), WORKER_GONE)),
    full: dead.length >= limit,
  };
}

async function reap(
  store: Store,
  runs: RunRecord[],
  now: Date,
  jobOf: JobOf,
  guardOf: (run: RunRecord) => CompletionGuard,
  error: string,
): Promise<Omit<ReapResult, 'full'>> {
  if (runs.length === 0) return { reaped: [], toPublish: [] };
  const completions: Completion[] = [];
  for (const run of runs) {
    const job = await jobOf(run.jobId);
    const maxAttempts = job?.retry.maxAttempts ?? 1;
    const retry = job !== null && run.attempt < maxAttempts;
    completions.push({
      runId: run.runId,
      attempt: run.attempt,
      guard: guardOf(run),
      status: 'failed',
      error,
      finishedAt: now,
      ...(retry ? { retryAt: new Date(now.getTime() + backoffDelayMs(job.retry.backoff, run.attempt)) } : {}),
    });
  }
  const results = await store.completeRuns(completions);
  const reaped: ReapedRun[] = [];
  const toPublish: RunRecord[] = [];
  results.forEach((result, i) => {
    if (!result.applied || !result.run) return;
    const retry = completions[i]!.retryAt !== undefined;
    reaped.push({ run: result.run, outcome: retry ? 'retry' : 'failed' });
    if (retry && result.run.status === 'pending') toPublish.push(result.run);
  });
  return { reaped, toPublish };
}
