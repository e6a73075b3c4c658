import type { RunRecord, RunStatus } from './port.js';

/**
 * How a run that was not started before its stale deadline is finished, with a reason that
 * says what happened (one rule for PgStore and MemoryStore):
 * - a retry (attempt > 1) is `failed`, not `expired`: an earlier attempt did run (a worker
 *   crashed mid-run, or it failed), so the slot did not silently go unrun;
 * - a first attempt whose trigger went out after the deadline, or never, was held back by
 *   the broker or the leader, not by the workers;
 * - otherwise the trigger waited in the queue too long (no worker free, or none running).
 */
export function staleOutcome(run: Pick<RunRecord, 'attempt' | 'attempts' | 'publishedAt' | 'staleAt'>): {
  status: RunStatus;
  error: string;
} {
  const deadline = 'not started before its stale-after deadline';
  if (run.attempt > 1) {
    const previous = run.attempts.at(-1);
    const what = previous?.error ? `ended: ${previous.error}` : 'did not finish';
    return { status: 'failed', error: `attempt ${run.attempt} ${deadline}; attempt ${run.attempt - 1} ran and ${what}` };
  }
  const late = run.publishedAt === null || (run.staleAt !== null && run.publishedAt.getTime() > run.staleAt.getTime());
  if (late) return { status: 'expired', error: `${deadline}: its trigger was not published in time (broker unreachable, or no leader)` };
  return { status: 'expired', error: deadline };
}
