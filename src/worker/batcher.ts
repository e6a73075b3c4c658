import type { Clock } from '../clock.js';
import { WarrenError } from '../errors.js';
import { retryDelayMs } from './retry-delay.js';

export interface BatcherOptions<I, O> {
  name: string;
  /** Most items in one call. */
  maxSize: number;
  /** Runs one batch; results are in item order (one per item). */
  run(items: I[]): Promise<O[]>;
  clock: Clock;
  /** Called when a batch failed and will be retried after `delayMs`. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

/**
 * Group-commit batching (DESIGN.md "Performance shape"): an item submitted while no batch
 * is in flight goes at once (a lone message never waits for a timer); items submitted while
 * a batch is in flight accumulate and go together in the next call, up to `maxSize`. A
 * failed batch (the database unreachable) is retried with capped, jittered backoff, with
 * its items held, so the caller's deliveries stay unacked and the broker's prefetch
 * bounds what piles up, instead of hot-looping nack/requeue.
 */
export class Batcher<I, O> {
  readonly #opts: BatcherOptions<I, O>;
  #queue: Pending<I, O>[] = [];
  #inFlight: Pending<I, O>[] | null = null;
  #stopped = false;
  #draining = false;
  #retryWake: (() => void) | null = null;
  #idleWaiters: Array<() => void> = [];

  constructor(options: BatcherOptions<I, O>) {
    this.#opts = options;
  }

  submit(item: I): Promise<O> {
    if (this.#stopped || this.#draining) return Promise.reject(new WarrenError('ERR_CLOSED', `${this.#opts.name}: batcher stopped`));
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#inFlight === null) void this.#flush();
    });
  }

  /** Items queued or in flight. */
  get size(): number {
    return this.#queue.length + (this.#inFlight?.length ?? 0);
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Shutdown, gently: refuses new items and rejects queued ones, lets the batch in flight
   * finish its current call, but does not retry it.
   */
  drain(): void {
    this.#draining = true;
    const err = new WarrenError('ERR_CLOSED', `${this.#opts.name}: batcher draining`);
    const queued = this.#queue;
    this.#queue = [];
    for (const p of queued) p.reject(err);
    this.#retryWake?.();
    this.#wakeIdle();
  }

  /** Rejects everything queued and in flight with ERR_CLOSED and refuses new items. */
  stop(): void {
    this.#stopped = true;
    const err = new WarrenError('ERR_CLOSED', `${this.#opts.name}: batcher stopped`);
    const all = [...(this.#inFlight ?? []), ...this.#queue];
    this.#queue = [];
    this.#inFlight = null;
    for (const p of all) p.reject(err);
    this.#retryWake?.();
    this.#wakeIdle();
  }

  async #flush(): Promise<void> {
    while (!this.#stopped && this.#inFlight === null && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#opts.maxSize);
      this.#inFlight = batch;
      let attempt = 0;
      for (;;) {
        try {
          const results = await this.#opts.run(batch.map((p) => p.item));
          if (this.#inFlight !== batch) return; // stopped meanwhile: already rejected
          if (results.length !== batch.length) throw new Error(`${this.#opts.name}: expected ${batch.length} results, got ${results.length}`);
          batch.forEach((p, i) => p.resolve(results[i]!));
          break;
        } catch (err) {
          if (this.#inFlight !== batch) return;
          if (this.#draining) {
            batch.forEach((p) => p.reject(err));
            break;
          }
          attempt += 1;
          const delay = retryDelayMs(attempt, 100, 5_000);
          this.#opts.onRetry?.(err, attempt, delay);
          await new Promise<void>((resolve) => {
            const timer = this.#opts.clock.setTimer(resolve, delay);
            this.#retryWake = () => {
              timer.cancel();
              resolve();
            };
          });
          this.#retryWake = null;
          if (this.#inFlight !== batch) return;
          if (this.#draining) {
            batch.forEach((p) => p.reject(err));
            break;
          }
        }
      }
      this.#inFlight = null;
    }
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    if (this.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
