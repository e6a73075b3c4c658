/**
 * Runs whose worker vanished: the worker acks the trigger once the run is claimed
 * (DESIGN.md guarantee 3), so after a crash only the expired lease in Postgres tells.
 * The leader retries such a run per its retry policy or fails it for good. The guard
 * `leaseExpiredBefore: now` makes the completion a no-op if the worker came back and
 * renewed (or finished) in the meantime.
 */
import { backoffDelayMs } from '../util/backoff.js';
import type { Completion, JobRecord, RunRecord, Store } from '../store/port.js';

export const LEASE_EXPIRED = 'lease expired (worker lost)';

export interface ReapedRun {
  run: RunRecord;
  /** `retry`: pending again at the next attempt; `failed`: final. */
  outcome: 'retry' | 'failed';
}

export async function reapExpiredLeases(
  store: Store,
  scope: string,
  now: Date,
  limit: number,
  jobOf: (jobId: string) => Promise<JobRecord | null>,
): Promise<{ reaped: ReapedRun[]; toPublish: RunRecord[]; full: boolean }> {
  const expired = await store.expiredLeases(scope, now, limit);
  if (expired.length === 0) return { reaped: [], toPublish: [], full: false };
  const completions: Completion[] = [];
  for (const run of expired) {
    const job = await jobOf(run.jobId);
    const maxAttempts = job?.retry.maxAttempts ?? 1;
    const retry = job !== null && run.attempt < maxAttempts;
    completions.push({
      runId: run.runId,
      attempt: run.attempt,
      guard: { leaseExpiredBefore: now },
      status: 'failed',
      error: LEASE_EXPIRED,
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
  return { reaped, toPublish, full: expired.length >= limit };
}
