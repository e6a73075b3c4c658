import type { Clock, Timer } from '../clock.js';
import type { Transport } from '../broker/transport.js';
import type { ClaimRequest, ClaimResult, Completion, CompletionResult, JobRecord, RunRecord, Store } from '../store/port.js';
import type { SafeEmitter } from '../util/events.js';
import type { Log } from '../util/logger.js';
import type { Batcher } from './batcher.js';
import type { WorkerEvents, WorkerStats, RunInfo } from './events.js';
import type { ResolvedWorkerOptions } from './options.js';
import type { RunExecution } from './run-executor.js';
import type { Handlers } from './handlers.js';
import { backoffDelayMs } from '../util/backoff.js';
import type { RunBook } from './run-book.js';
import type { TimerGroup } from '../util/timer-group.js';
import { workerDebug } from './job-logger.js';
import { errorText } from './dead-letter.js';

/** A claimed run, from claim (maybe waiting for a handler slot) until its completion is recorded (its lease is heartbeated meanwhile). */
export interface RunningRun {
  info: RunInfo;
  run: RunRecord;
  job: JobRecord;
  execution: RunExecution;
  /** The trigger as it arrived, for the dead-letter queue. */
  body: Buffer;
  startedAt: number;
  /** The lease's end as last confirmed by the store (claim, then each heartbeat: the `now` sent + leaseTtl). */
  provenUntil: number;
  /** Fires shortly before `provenUntil`: the run is stopped unless a heartbeat extended it meanwhile. */
  leaseTimer: Timer | null;
  /**
   * The lease is gone (not renewed in time, the store said so, or a newer attempt of the
   * run was delivered): the handler is aborted and no result is recorded; the leader's
   * reaper owns the run now.
   */
  lost: boolean;
}

/** The state the worker's parts share. */
export interface WorkerCore {
  readonly opts: ResolvedWorkerOptions;
  readonly clock: Clock;
  /** Per-run deadlines (timeouts, lease ends) on one clock timer. */
  readonly timers: TimerGroup;
  readonly store: Store;
  readonly transport: Transport;
  readonly events: SafeEmitter<WorkerEvents>;
  /** The worker's log (debug namespace and host logger), with `worker_id` and `scope`. */
  readonly log: Log;
  /** Definitions and queue handlers, with each work queue's scope. */
  readonly handlers: Handlers;
  /** The runs held, the claims in flight, and each queue's window and handler slots. */
  readonly book: RunBook;
  readonly claims: Batcher<ClaimRequest, ClaimResult>;
  readonly completions: Batcher<Completion, CompletionResult>;
  /**
   * How long before a held trigger's instant its claim goes out: twice the recent claim
   * time, so the run is claimed by its instant and starts on it.
   */
  claimLeadMs(): number;
  /** Results waiting to be written beyond which no new run is claimed (memory stays bounded). */
  readonly completionBacklog: number;
  /** Aborted when close() gives up (its grace is over): background retries stop. */
  readonly closing: AbortSignal;
  /** Adds one to a counter of `worker.stats()`. */
  count(counter: keyof WorkerStats): void;
  /** Keeps a background task (publish, dead-letter) so close() can wait for it. */
  track(task: Promise<unknown>): void;
}

/**
 * Retries `fn` with capped, jittered backoff until it succeeds or `signal` aborts
 * (then resolves `undefined`). Used where giving up would lose work: boot steps,
 * dead-lettering, republishing.
 */
export async function retryUntil<T>(
  what: string,
  fn: () => Promise<T>,
  opts: { clock: Clock; signal: AbortSignal; baseMs?: number; capMs?: number; onError?: (err: unknown, attempt: number) => void },
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    if (opts.signal.aborted) return undefined;
    try {
      return await fn();
    } catch (err) {
      if (opts.signal.aborted) return undefined;
      const delay = backoffDelayMs({ delayMs: opts.baseMs ?? 250, maxMs: opts.capMs ?? 10_000 }, attempt);
      workerDebug('%s failed (attempt %d), retrying in %d ms: %s', what, attempt, delay, errorText(err));
      opts.onError?.(err, attempt);
      try {
        await opts.clock.sleep(delay, opts.signal);
      } catch {
        return undefined;
      }
    }
  }
}
