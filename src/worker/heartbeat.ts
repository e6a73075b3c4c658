import type { Timer } from '../clock.js';
import { WarrenError } from '../errors.js';
import type { RunningRun, WorkerCore } from './core.js';
import { errorText } from './dead-letter.js';
import { workerDebug } from './job-logger.js';
import { loseLease, proveLease } from './lease.js';

/**
 * One batched `store.heartbeat(ids)` per interval for every run this worker holds (also
 * those whose result is still being recorded). Each extended lease pushes the run's local
 * deadline (lease.ts) to the `now` sent + leaseTtl; runs the store names in `cancel` get
 * their signal aborted: a cancel request (cancelOther, removal) if the lease was extended,
 * else the lease is lost.
 */
export class Heartbeat {
  readonly #core: WorkerCore;
  #timer: Timer | null = null;
  #stopped = false;
  #beating: Promise<void> = Promise.resolve();
  readonly #stop = new AbortController();

  constructor(core: WorkerCore) {
    this.#core = core;
  }

  start(): void {
    this.#schedule(this.#core.opts.heartbeatInterval);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#stop.abort();
    await this.#beating;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = this.#core.clock.setTimer(() => {
      const startedAt = this.#core.clock.now();
      this.#beating = this.#beat().finally(() => {
        // Keep the cadence: a slow beat shortens the wait for the next one.
        this.#schedule(Math.max(0, this.#core.opts.heartbeatInterval - (this.#core.clock.now() - startedAt)));
      });
    }, delay);
  }

  async #beat(): Promise<void> {
    const core = this.#core;
    const entries = core.book.leased();
    if (entries.size === 0) return;
    const sentAt = core.clock.now();
    const query = core.store
      .heartbeat([...entries.keys()], { now: new Date(sentAt), leaseMs: core.opts.leaseTtl, workerId: core.opts.workerId })
      .then(
        // Applied even when it comes late: the leases were extended from `sentAt`, and the
        // entries are the ones sent (a newer attempt registered meanwhile is not touched).
        ({ extended, cancel }) => this.#apply(entries, sentAt, extended, cancel),
        (err: unknown) => {
          // The next beat tries again; each run's local deadline stops it before its lease can lapse.
          workerDebug('heartbeat of %d runs failed: %s', entries.size, errorText(err));
        },
      );
    // A query that hangs (a half-open connection) must not hold back later beats: wait at
    // most one interval for it.
    let timer: Timer | undefined;
    let onStop: (() => void) | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = core.clock.setTimer(() => {
        workerDebug(
          'heartbeat of %d runs still unanswered after %d ms; the next beat goes anyway',
          entries.size,
          core.opts.heartbeatInterval,
        );
        resolve();
      }, core.opts.heartbeatInterval);
      onStop = resolve;
      this.#stop.signal.addEventListener('abort', onStop, { once: true });
    });
    await Promise.race([query, bound]);
    timer?.cancel();
    this.#stop.signal.removeEventListener('abort', onStop!);
  }

  #apply(entries: Map<string, RunningRun>, sentAt: number, extended: string[], cancel: string[]): void {
    const core = this.#core;
    const until = sentAt + core.opts.leaseTtl;
    const kept = new Set(extended);
    for (const id of extended) {
      const entry = entries.get(id);
      if (entry) proveLease(core, entry, until);
    }
    for (const id of cancel) {
      const entry = entries.get(id);
      if (!entry || entry.execution.settled) continue;
      if (!kept.has(id)) {
        loseLease(core, entry, 'the store no longer holds it for this worker');
        continue;
      }
      workerDebug('run %s must stop (cancel requested)', id);
      entry.execution.abort('cancel', new WarrenError('ERR_CLOSED', `run ${id} was cancelled (cancel requested)`));
    }
  }
}
