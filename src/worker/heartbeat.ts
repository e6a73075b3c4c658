import type { Timer } from '../clock.js';
import { WarrenError } from '../errors.js';
import type { WorkerCore } from './core.js';
import { errorText } from './dead-letter.js';
import { workerDebug } from './job-logger.js';

/**
 * One batched `store.heartbeat(ids)` per interval for every run this worker holds (also
 * those whose result is still being recorded). Runs the store names in `cancel`
 * (cancelOther, lease lost, removal) get their signal aborted.
 */
export class Heartbeat {
  readonly #core: WorkerCore;
  #timer: Timer | null = null;
  #stopped = false;
  #beating: Promise<void> = Promise.resolve();

  constructor(core: WorkerCore) {
    this.#core = core;
  }

  start(): void {
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#beating;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#core.clock.setTimer(() => {
      this.#beating = this.#beat().finally(() => this.#schedule());
    }, this.#core.opts.heartbeatInterval);
  }

  async #beat(): Promise<void> {
    const core = this.#core;
    const ids = [...core.running.keys()];
    if (ids.length === 0) return;
    try {
      const { cancel } = await core.store.heartbeat(ids, { now: new Date(core.clock.now()), leaseMs: core.opts.leaseTtl, workerId: core.opts.workerId });
      for (const id of cancel) {
        const entry = core.running.get(id);
        if (!entry || entry.execution.settled) continue;
        workerDebug('run %s must stop (cancel requested or lease lost)', id);
        entry.execution.abort('cancel', new WarrenError('ERR_CLOSED', `run ${id} was cancelled (cancel requested or lease lost)`));
      }
    } catch (err) {
      // The next beat tries again; a lease that lapses meanwhile is the leader's to reap.
      workerDebug('heartbeat of %d runs failed: %s', ids.length, errorText(err));
    }
  }
}
