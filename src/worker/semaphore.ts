import { WarrenError } from '../errors.js';

/**
 * A counting semaphore. Per queue the worker keeps two: the window (`prefetch`: runs held,
 * from delivery until the handler settles) and the handler slots (`concurrency`). The
 * trigger is acked once its run is claimed, so the broker's prefetch alone would bound
 * neither: a delivery takes a window place before its claim, and waits unacked while the
 * window is full.
 */
export class Semaphore {
  #free: number;
  #waiters: Array<{ resolve(): void; reject(err: unknown): void }> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<() => void> {
    const taken = this.tryAcquire();
    if (taken !== null) return taken;
    await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    return this.#release();
  }

  /** A free place at once (its release), or null: the worker's hot path takes one without a promise. */
  tryAcquire(): (() => void) | null {
    if (this.#free === 0) return null;
    this.#free -= 1;
    return this.#release();
  }

  #release(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next.resolve();
      else this.#free += 1;
    };
  }

  /** Fails every waiter (shutdown): their deliveries stay unacked and the broker requeues them. */
  rejectWaiters(reason = new WarrenError('ERR_CLOSED', 'worker closing')): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(reason);
  }
}
