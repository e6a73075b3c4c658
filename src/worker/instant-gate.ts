import type { Clock, Timer } from '../clock.js';

/**
 * Deliveries that arrived before their instant (a slot the leader claimed ahead, header
 * `x-warren-not-before`) wait here until `lead` milliseconds before it: long enough for their
 * claim to commit by the instant. One timer per instant releases every delivery due then in
 * the same turn, so their claims go out as one batch (the first delivery of an instant sets
 * its lead). The run itself starts at the instant, never before (finish-run.ts).
 */
export class InstantGate {
  readonly #clock: Clock;
  readonly #instants = new Map<number, { timer: Timer; release: Array<(open: boolean) => void> }>();
  #closed = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Deliveries waiting for their instant. */
  get waiting(): number {
    let n = 0;
    for (const instant of this.#instants.values()) n += instant.release.length;
    return n;
  }

  /** Resolves true `lead` ms before `at` (at once when that has passed), false when the gate closes first. */
  until(at: number, lead = 0): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    const instant0 = this.#instants.get(at);
    if (instant0 === undefined && at - lead <= this.#clock.now()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let instant = instant0;
      if (instant === undefined) {
        const release: Array<(open: boolean) => void> = [];
        const timer = this.#clock.setTimer(
          () => {
            this.#instants.delete(at);
            for (const r of release) r(true);
          },
          at - lead - this.#clock.now(),
        );
        instant = { timer, release };
        this.#instants.set(at, instant);
      }
      instant.release.push(resolve);
    });
  }

  /** Shutdown: every delivery still waiting is let go unclaimed (it stays unacked and goes back to the queue). */
  close(): void {
    this.#closed = true;
    for (const { timer, release } of this.#instants.values()) {
      timer.cancel();
      for (const r of release) r(false);
    }
    this.#instants.clear();
  }
}
