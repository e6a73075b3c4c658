import type { Clock, Timer } from '../clock.js';
import { NonRetryableError, WarrenError, isNonRetryable, retryAfterMs } from '../errors.js';
import type { JobContext, JobHandler, JobLogger } from '../define/types.js';
import type { JobRecord, RunRecord } from '../store/port.js';
import { formatDuration } from '../util/duration.js';
import { errorText } from './dead-letter.js';

/** How a run's handler ended, from the worker's point of view. */
export type RunOutcome =
  | { kind: 'success' }
  /** The handler threw or rejected (or its params were invalid). */
  | { kind: 'failure'; error: unknown; nonRetryable: boolean; retryAfterMs: number | undefined }
  /** The job's timeout passed: the signal was aborted and the handler rejected or did not settle within timeoutGrace. */
  | { kind: 'timeout'; error: WarrenError }
  /** The store asked the run to stop (cancelOther, lease lost) and the handler rejected or did not settle. */
  | { kind: 'cancelled'; error: WarrenError }
  /**
   * Nothing is recorded: the worker shut down past its grace (the lease expires and the
   * leader retries), or the lease was lost (the leader's reaper owns the run).
   */
  | { kind: 'abandoned' };

export interface RunExecutionInput {
  /** The handler's params from the claimed run (a definition's schema, or a queue handler's); throws on invalid params. */
  parseParams(run: RunRecord, job: JobRecord): unknown;
  handler: JobHandler<unknown>;
  run: RunRecord;
  job: JobRecord;
  /** The worker's timers (a TimerGroup: the timeout is one of thousands that almost never fire). */
  timers: Pick<Clock, 'setTimer'>;
  timeoutGraceMs: number;
  log: JobLogger;
}

type AbortKind = 'timeout' | 'cancel' | 'shutdown' | 'lost';

/**
 * Runs one handler with its AbortSignal and enforces the job's timeout. A handler that
 * ignores the signal cannot be stopped in JavaScript; after `timeoutGrace` the outcome is
 * decided without it (its promise is left to settle on its own).
 */
export class RunExecution {
  readonly runId: string;
  readonly outcome: Promise<RunOutcome>;
  readonly #input: RunExecutionInput;
  /** Made when the handler first reads `ctx.signal` (most never do; one per run is measurable at thousands of runs/s). */
  #controller: AbortController | null = null;
  #resolve!: (outcome: RunOutcome) => void;
  #settled = false;
  #started = false;
  #aborted: { kind: AbortKind; reason: WarrenError } | null = null;
  #timeoutTimer: Timer | null = null;
  #graceTimer: Timer | null = null;

  constructor(input: RunExecutionInput) {
    this.#input = input;
    this.runId = input.run.runId;
    this.outcome = new Promise((resolve) => (this.#resolve = resolve));
  }

  get settled(): boolean {
    return this.#settled;
  }

  start(): void {
    if (this.#settled || this.#started) return;
    this.#started = true;
    const { handler, run, job, timers } = this.#input;
    let params: unknown;
    try {
      params = this.#input.parseParams(run, job);
    } catch (err) {
      this.#settle({
        kind: 'failure',
        error: new NonRetryableError(`invalid params: ${errorText(err)}`, { cause: err }),
        nonRetryable: true,
        retryAfterMs: undefined,
      });
      return;
    }
    const signal = () => this.#signal();
    const ctx: JobContext<unknown> = {
      jobId: run.jobId,
      scope: run.scope,
      runId: run.runId,
      params,
      attempt: run.attempt,
      maxAttempts: job.retry.maxAttempts,
      triggerSource: run.triggerSource,
      scheduledFor: run.scheduledFor,
      // A getter, so the AbortController is made only for handlers that read it.
      get signal() {
        return signal();
      },
      log: this.#input.log,
    };
    this.#timeoutTimer = timers.setTimer(() => {
      this.abort('timeout', new WarrenError('ERR_TIMEOUT', `job ${run.jobId} timed out after ${formatDuration(job.timeoutMs)}`));
    }, job.timeoutMs);
    let result: unknown;
    try {
      result = handler(ctx);
    } catch (err) {
      this.#onRejected(err);
      return;
    }
    Promise.resolve(result).then(
      () => this.#onResolved(),
      (err: unknown) => this.#onRejected(err),
    );
  }

  /**
   * Aborts the signal. `timeout`, `cancel` and `lost` give the handler `timeoutGrace` to
   * settle (its slot stays taken meanwhile); `shutdown` ends the execution at once, leaving
   * the run to lease expiry. A `lost` run ends `abandoned` however the handler ends.
   */
  abort(kind: AbortKind, reason: WarrenError): void {
    if (this.#settled || this.#aborted) return;
    this.#aborted = { kind, reason };
    this.#controller?.abort(reason);
    if (kind === 'shutdown') {
      this.#settle({ kind: 'abandoned' });
      return;
    }
    if (!this.#started) {
      // Claimed but still waiting for a handler slot: there is no handler to wait for.
      this.#settleAborted();
      return;
    }
    this.#graceTimer = this.#input.timers.setTimer(() => this.#settleAborted(), this.#input.timeoutGraceMs);
  }

  #signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#aborted.reason);
    }
    return this.#controller.signal;
  }

  #onResolved(): void {
    // A run whose lease is lost is no longer ours to record, even if its handler finished.
    if (this.#aborted?.kind === 'lost') return this.#settle({ kind: 'abandoned' });
    // A handler that finished its work after the signal aborted still succeeded.
    this.#settle({ kind: 'success' });
  }

  #onRejected(error: unknown): void {
    if (this.#aborted) {
      this.#settleAborted();
      return;
    }
    this.#settle({ kind: 'failure', error, nonRetryable: isNonRetryable(error), retryAfterMs: retryAfterMs(error) });
  }

  #settleAborted(): void {
    const aborted = this.#aborted!;
    if (aborted.kind === 'timeout') this.#settle({ kind: 'timeout', error: aborted.reason });
    else if (aborted.kind === 'cancel') this.#settle({ kind: 'cancelled', error: aborted.reason });
    else this.#settle({ kind: 'abandoned' });
  }

  #settle(outcome: RunOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#timeoutTimer?.cancel();
    this.#graceTimer?.cancel();
    this.#resolve(outcome);
  }
}
