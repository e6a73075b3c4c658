/**
 * The one `ready()` of the scheduler and the worker. Both boot in any order: `start()`
 * resolves while the database or broker is still unreachable, and they keep retrying. So
 * a host that wants to know (a readiness probe, a deploy script, a test) awaits
 * `ready({ timeout })`, which resolves once the component is connected and rejects with
 * `ERR_NOT_READY` carrying the last connection error (wrong password, unresolvable host,
 * refused port) when the timeout passes first.
 */
import type { Clock, Timer } from '../clock.js';
import { WarrenError, describeValue } from '../errors.js';
import { formatDuration, parseDuration, type Duration } from './duration.js';

/** One lifecycle for long-lived components: `idle` → `starting` → `running` → `closing` → `closed`. */
export type LifecycleState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

export interface ReadyOptions {
  /** Give up after this long (a number of seconds, or a string like `'30s'`). @default no limit */
  timeout?: Duration;
  /** Stop waiting when this aborts (rejects with its reason). */
  signal?: AbortSignal;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class Readiness {
  readonly #label: string;
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();
  #ready = false;
  #failed: unknown = undefined;
  #lastError: Error | undefined;

  /** `label` starts the timeout message: "scheduler sched-1 not ready after 5s: ...". */
  constructor(label: string, clock: Clock) {
    this.#label = label;
    this.#clock = clock;
  }

  get isReady(): boolean {
    return this.#ready;
  }

  /** Remembers a connection or boot error: the cause given when a wait times out. */
  noteError(error: unknown): void {
    this.#lastError = error instanceof Error ? error : new Error(String(error));
  }

  markReady(): void {
    if (this.#ready || this.#failed !== undefined) return;
    this.#ready = true;
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters.clear();
  }

  /** The component will never be ready (a fatal error, or closed): waiters and later waits reject with `error`. */
  fail(error: unknown): void {
    if (this.#failed !== undefined) return;
    this.#ready = false;
    this.#failed = error;
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
  }

  wait(options: ReadyOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(
        new WarrenError(
          'ERR_INVALID_ARGUMENT',
          `Invalid \`ready\` options: expected { timeout?, signal? }, got ${describeValue(options)}`,
          { field: 'options' },
        ),
      );
    }
    let timeoutMs: number | undefined;
    try {
      timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout, 'timeout', 'ERR_INVALID_ARGUMENT');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#ready) return Promise.resolve();
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      let timer: Timer | undefined;
      const done = () => {
        this.#waiters.delete(waiter);
        timer?.cancel();
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = () => waiter.reject(signal?.reason);
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = this.#clock.setTimer(() => waiter.reject(this.#timeoutError(timeoutMs)), timeoutMs);
    });
  }

  #timeoutError(timeoutMs: number): WarrenError {
    const last = this.#lastError;
    const why = last === undefined ? 'still connecting, no error seen yet' : last.message;
    return new WarrenError('ERR_NOT_READY', `${this.#label} not ready after ${formatDuration(timeoutMs)}: ${why}`, {
      cause: last,
      details: { timeoutMs },
    });
  }
}
