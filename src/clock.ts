/**
 * All time in warren comes from a Clock, so the fake-clock harness drives the real
 * scheduling logic. Nothing in scheduling code calls `Date.now()` or `setTimeout` directly.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` (never before). */
  setTimer(fn: () => void, ms: number): Timer;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

// Captured at import so a test that installs fake timers afterwards (vitest, sinon) does
// not freeze the system clock or the harness's settling.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetImmediate = globalThis.setImmediate;
const realDateNow = Date.now;

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// Node's setTimeout takes a 32-bit delay; longer waits are chained.
const MAX_TIMEOUT = 2_147_483_647;

export class SystemClock implements Clock {
  now(): number {
    return realDateNow();
  }

  setTimer(fn: () => void, ms: number): Timer {
    const due = this.now() + Math.max(0, ms);
    let handle: ReturnType<typeof setTimeout>;
    const arm = () => {
      const left = due - this.now();
      // Node timers can fire ~1 ms early: re-arm until the due instant has really passed.
      if (left > 0) handle = realSetTimeout(arm, Math.min(left, MAX_TIMEOUT));
      else fn();
    };
    handle = realSetTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMEOUT));
    return { cancel: () => realClearTimeout(handle) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }
}

export const systemClock: Clock = new SystemClock();

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets pending promise chains run: one real macrotask turn drains every queued microtask. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => realSetImmediate(resolve));
}

/**
 * A clock that only moves when told to. It keeps its own timer heap and never patches
 * globals, so it works beside a test runner's own fake timers.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: FakeTimer[] = [];

  constructor(start: Date | number = 0) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer: FakeTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Number of live timers: useful to assert that a component cleaned up. */
  pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** When the next live timer fires, or undefined when none is armed. */
  nextTimerAt(): number | undefined {
    const next = this.#peek();
    return next?.at;
  }

  /**
   * Moves time forward timer by timer, letting each step's promises settle, so every
   * callback runs at its own instant and its consequences happen before time moves on.
   */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  async advanceTo(target: number | Date): Promise<void> {
    const until = typeof target === 'number' ? target : target.getTime();
    await settle();
    for (;;) {
      const next = this.#peek();
      if (next === undefined || next.at > until) break;
      this.#fire(next);
      await settle();
    }
    if (until > this.#now) this.#now = until;
    await settle();
  }

  /**
   * Fires the earliest live timer due at or before `until` (moving time to it), without
   * settling: for a driver that lets promises settle its own way between steps (the test
   * harness). Returns false when no timer is due by then.
   */
  fireNext(until: number = this.#now): boolean {
    const next = this.#peek();
    if (next === undefined || next.at > until) return false;
    this.#fire(next);
    return true;
  }

  /** Fires only the timers due now (or earlier), without moving time. */
  async flush(): Promise<void> {
    await this.advanceTo(this.#now);
  }

  #peek(): FakeTimer | undefined {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    let best: FakeTimer | undefined;
    for (const t of this.#timers) {
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  #fire(timer: FakeTimer): void {
    timer.cancelled = true;
    if (timer.at > this.#now) this.#now = timer.at;
    timer.fn();
  }
}
