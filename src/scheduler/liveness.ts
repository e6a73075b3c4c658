/**
 * The scheduler's side of liveness (docs/reliability.md):
 * - every electing instance holds its own liveness lock, so when the leader's process dies
 *   a follower waiting on that lock (`awaitRelease`) tries the lease at once;
 * - the leader looks for workers whose lock is gone every `checkInterval` (a cheap statement,
 *   leader only: a dead session cannot NOTIFY) and retries their runs, without waiting for
 *   the tick (whose safety interval is far longer).
 */
import createDebug from 'debug';
import type { Clock, Timer } from '../clock.js';
import type { JobRecord, LivenessClient, LivenessHandle, ReleaseOutcome, Store } from '../store/port.js';
import { backoffDelayMs } from '../util/backoff.js';
import type { RunPublisher } from './publisher.js';
import { reapDeadWorkers, type ReapedRun } from './reaper.js';

const debug = createDebug('warren:scheduler');

export interface SchedulerLivenessOptions {
  store: Store;
  publisher: RunPublisher;
  scope: string;
  instanceId: string;
  clock: Clock;
  createClient: (() => LivenessClient) | undefined;
  checkIntervalMs: number;
  graceMs: number;
  limit: number;
  onReaped(reaped: ReapedRun): void;
  /** This instance's own lock was lost (its connection dropped) or taken again. */
  onHeld(held: boolean): void;
  onError(error: unknown): void;
}

export class SchedulerLiveness {
  readonly #o: SchedulerLivenessOptions;
  #handle: LivenessHandle | null = null;
  #timer: Timer | null = null;
  #inFlight: Promise<void> | null = null;
  #watching = false;
  #failures = 0;

  constructor(options: SchedulerLivenessOptions) {
    this.#o = options;
  }

  /** Takes this instance's lock (in the background; idempotent). */
  hold(): void {
    if (this.#handle !== null) return;
    const { store, instanceId, createClient, onHeld } = this.#o;
    this.#handle = store.holdLiveness('scheduler', instanceId, {
      ...(createClient === undefined ? {} : { createClient }),
      onChange: (held) => onHeld(held),
    });
  }

  /** For the elector: resolves when `holder`'s lock is released, or after `timeoutMs`. */
  readonly awaitRelease = (holder: string, timeoutMs: number): Promise<ReleaseOutcome> =>
    this.#handle === null ? Promise.resolve('unavailable') : this.#handle.awaitRelease('scheduler', holder, timeoutMs);

  /** While leading: look for dead workers every checkInterval. */
  startWatch(): void {
    if (this.#watching) return;
    this.#watching = true;
    this.#failures = 0;
    this.#arm(0);
  }

  async stopWatch(): Promise<void> {
    this.#watching = false;
    this.#timer?.cancel();
    this.#timer = null;
    await this.#inFlight?.catch(() => undefined);
  }

  /** Stops watching and closes the lock's connection (the server releases the lock). */
  async close(): Promise<void> {
    await this.stopWatch();
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }

  #arm(ms: number): void {
    if (!this.#watching) return;
    this.#timer?.cancel();
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = null;
      this.#inFlight = this.#check().finally(() => {
        this.#inFlight = null;
      });
    }, ms);
  }

  async #check(): Promise<void> {
    const { store, publisher, scope, clock, graceMs, limit, checkIntervalMs } = this.#o;
    const nowMs = clock.now();
    const jobs = new Map<string, Promise<JobRecord | null>>();
    const jobOf = (jobId: string): Promise<JobRecord | null> => {
      let job = jobs.get(jobId);
      if (!job) jobs.set(jobId, (job = store.getJob(scope, jobId)));
      return job;
    };
    let next = checkIntervalMs;
    try {
      const result = await reapDeadWorkers(store, scope, new Date(nowMs), graceMs, limit, jobOf);
      this.#failures = 0;
      if (result.reaped.length > 0) debug('%d run(s) of dead workers reaped in %s', result.reaped.length, scope);
      result.reaped.forEach((reaped) => this.#o.onReaped(reaped));
      if (result.toPublish.length > 0 && this.#watching) {
        // A trigger that cannot go out now stays pending and unpublished: the outbox sends it.
        await publisher.publish(result.toPublish, jobOf, nowMs);
      }
      if (result.full) next = 0;
    } catch (error) {
      this.#failures += 1;
      this.#o.onError(error);
      next = backoffDelayMs({ delayMs: 2 * checkIntervalMs, maxMs: 10 * checkIntervalMs }, this.#failures);
    }
    this.#arm(Math.round(next));
  }
}
