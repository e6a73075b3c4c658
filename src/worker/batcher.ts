import type { Clock } from '../clock.js';
import { WarrenError } from '../errors.js';
import { backoffDelayMs } from '../util/backoff.js';

export interface BatcherOptions<I, O> {
  name: string;
  /** Most items in one call. */
  maxSize: number;
  /**
   * Most calls in flight at once (each on its own pooled connection). A call beyond the
   * first starts only while a full batch (`maxSize`) is waiting: under a backlog the
   * database works on several batches at once, otherwise items still group behind one call.
   * @default 1
   */
  maxInFlight?: number;
  /**
   * How many items must wait for a call beyond the first to start (at most `maxSize`): a
   * worker whose prefetch window is smaller than `maxSize` never sees a full batch wait,
   * so its claims would go one call at a time, each carrying half its window at most.
   * @default maxSize
   */
  overlapAt?: number;
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
 * Group-commit batching (per-job commits cap a Postgres queue near 2k jobs/s): an item submitted while no batch
 * is in flight goes once the microtasks queued before it have run, with every item they
 * submitted (a lone message never waits for a timer; the deliveries of one socket read, or
 * the held triggers one instant releases, reach `submit` in the same round of microtasks
 * and go as one batch); items submitted while
 * a batch is in flight accumulate and go together in the next call, up to `maxSize` (and
 * while a full batch waits, a further call starts, up to `maxInFlight`). A
 * failed batch (the database unreachable) is retried with capped, jittered backoff, with
 * its items held, so the caller's deliveries stay unacked and the broker's prefetch
 * bounds what piles up, instead of hot-looping nack/requeue.
 */
export class Batcher<I, O> {
  readonly #opts: BatcherOptions<I, O>;
  readonly #lanes: number;
  readonly #overlapAt: number;
  #queue: Pending<I, O>[] = [];
  readonly #inFlight = new Set<Pending<I, O>[]>();
  #stopped = false;
  #draining = false;
  /** A first call is due once the microtasks queued so far have run. */
  #startDue = false;
  readonly #retryWakes = new Set<() => void>();
  #idleWaiters: Array<() => void> = [];
  #roomWaiters: Array<{ limit: number; resolve(): void }> = [];

  constructor(options: BatcherOptions<I, O>) {
    this.#opts = options;
    this.#lanes = Math.max(1, options.maxInFlight ?? 1);
    this.#overlapAt = Math.max(1, Math.min(options.maxSize, options.overlapAt ?? options.maxSize));
  }

  submit(item: I): Promise<O> {
    if (this.#stopped || this.#draining) return Promise.reject(new WarrenError('ERR_CLOSED', `${this.#opts.name}: batcher stopped`));
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#kick();
    });
  }

  /** Starts a call when one may start: a further lane at once (a backlog waits), the first after this round of microtasks. */
  #kick(): void {
    if (!this.#mayStart()) return;
    if (this.#inFlight.size > 0) {
      void this.#flush();
      return;
    }
    if (this.#startDue) return;
    this.#startDue = true;
    queueMicrotask(() => {
      this.#startDue = false;
      if (this.#inFlight.size === 0 && this.#mayStart()) void this.#flush();
    });
  }

  /** Items queued or in flight. */
  get size(): number {
    let n = this.#queue.length;
    for (const batch of this.#inFlight) n += batch.length;
    return n;
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Resolves once fewer than `limit` items are queued or in flight (or the batcher stopped): backpressure. */
  room(limit: number): Promise<void> {
    if (this.size < limit || this.#stopped || this.#draining) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push({ limit, resolve }));
  }

  /**
   * Shutdown, gently: refuses new items and rejects queued ones, lets the batches in flight
   * finish their current call, but does not retry them.
   */
  drain(): void {
    this.#draining = true;
    const err = new WarrenError('ERR_CLOSED', `${this.#opts.name}: batcher draining`);
    const queued = this.#queue;
    this.#queue = [];
    for (const p of queued) p.reject(err);
    for (const wake of this.#retryWakes) wake();
    this.#wake();
  }

  /** Rejects everything queued and in flight with ERR_CLOSED and refuses new items. */
  stop(): void {
    this.#stopped = true;
    const err = new WarrenError('ERR_CLOSED', `${this.#opts.name}: batcher stopped`);
    const all = [...[...this.#inFlight].flat(), ...this.#queue];
    this.#queue = [];
    this.#inFlight.clear();
    for (const p of all) p.reject(err);
    for (const wake of this.#retryWakes) wake();
    this.#wake();
  }

  /** Whether a call may start now: none in flight, or `overlapAt` items (a full batch by default) wait and a lane is free. */
  #mayStart(): boolean {
    if (this.#stopped || this.#queue.length === 0) return false;
    if (this.#inFlight.size === 0) return true;
    return this.#inFlight.size < this.#lanes && this.#queue.length >= this.#overlapAt;
  }

  /** One lane: takes batches off the queue while it may. */
  async #flush(): Promise<void> {
    while (this.#mayStart()) {
      const batch = this.#queue.splice(0, this.#opts.maxSize);
      this.#inFlight.add(batch);
      let attempt = 0;
      for (;;) {
        try {
          const results = await this.#opts.run(batch.map((p) => p.item));
          if (!this.#inFlight.has(batch)) return; // stopped meanwhile: already rejected
          if (results.length !== batch.length)
            throw new Error(`${this.#opts.name}: expected ${batch.length} results, got ${results.length}`);
          batch.forEach((p, i) => p.resolve(results[i]!));
          break;
        } catch (err) {
          if (!this.#inFlight.has(batch)) return;
          if (this.#draining) {
            batch.forEach((p) => p.reject(err));
            break;
          }
          attempt += 1;
          // Capped at 1 s: a database that comes back is used within about a second.
          const delay = backoffDelayMs({ delayMs: 100, maxMs: 1_000 }, attempt);
          this.#opts.onRetry?.(err, attempt, delay);
          await new Promise<void>((resolve) => {
            const wake = () => {
              timer.cancel();
              this.#retryWakes.delete(wake);
              resolve();
            };
            const timer = this.#opts.clock.setTimer(wake, delay);
            this.#retryWakes.add(wake);
          });
          if (!this.#inFlight.has(batch)) return;
          if (this.#draining) {
            batch.forEach((p) => p.reject(err));
            break;
          }
        }
      }
      this.#inFlight.delete(batch);
      this.#wake();
    }
    this.#wake();
  }

  #wake(): void {
    const size = this.size;
    const closed = this.#stopped || this.#draining;
    if (this.#roomWaiters.length > 0) {
      const ready = this.#roomWaiters.filter((w) => closed || size < w.limit);
      this.#roomWaiters = this.#roomWaiters.filter((w) => !(closed || size < w.limit));
      for (const w of ready) w.resolve();
    }
    if (size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
