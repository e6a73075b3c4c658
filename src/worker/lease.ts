import { WarrenError } from '../errors.js';
import type { RunningRun, WorkerCore } from './core.js';
import { runLog, workerDebug } from './job-logger.js';

/**
 * The local view of each held run's lease. The store is the authority, but a worker cut
 * off from it never hears "lease lost": once the lease it last proved (claim, successful
 * heartbeats) is about to run out, the leader's reaper may retry the run on another
 * worker, so this one stops the handler first and records nothing.
 */

/** How long before the proven lease end a run is stopped: min(1 s, leaseTtl / 10). */
export function leaseMargin(core: WorkerCore): number {
  return Math.min(1000, Math.floor(core.opts.leaseTtl / 10));
}

/** The store confirmed the lease until `until` (ms): push the local deadline out. */
export function proveLease(core: WorkerCore, entry: RunningRun, until: number): void {
  if (entry.lost) return;
  if (entry.leaseTimer !== null && until <= entry.provenUntil) return;
  entry.provenUntil = Math.max(entry.provenUntil, until);
  armLeaseTimer(core, entry);
}

function armLeaseTimer(core: WorkerCore, entry: RunningRun): void {
  entry.leaseTimer?.cancel();
  const due = entry.provenUntil - leaseMargin(core);
  entry.leaseTimer = core.timers.setTimer(
    () => {
      entry.leaseTimer = null;
      if (entry.lost || !core.book.holds(entry)) return;
      if (core.clock.now() < entry.provenUntil - leaseMargin(core)) return armLeaseTimer(core, entry);
      loseLease(core, entry, `not renewed since its lease ran to ${new Date(entry.provenUntil).toISOString()} (store unreachable?)`);
    },
    Math.max(0, due - core.clock.now()),
  );
}

/**
 * The run is no longer ours: abort its signal, record nothing (the run's own `finishRun`
 * skips a lost entry), stop heartbeating it. A handler that already settled keeps its
 * pending result: the store's guard (worker id and attempt) decides whether it still applies.
 */
export function loseLease(core: WorkerCore, entry: RunningRun, why: string): void {
  if (entry.lost || entry.execution.settled) return;
  entry.lost = true;
  entry.leaseTimer?.cancel();
  entry.leaseTimer = null;
  const { runId, attempt } = entry.run;
  workerDebug('run %s attempt %d: lease lost (%s); stopping its handler, the leader retries it', runId, attempt, why);
  runLog(core.log, entry.run).warn('run stopped: its lease is lost', { reason: why });
  entry.execution.abort(
    'lost',
    new WarrenError('ERR_CLOSED', `run ${runId} attempt ${attempt}: lease lost (${why}); the leader retries it`),
  );
}
