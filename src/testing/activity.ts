import { settle } from '../clock.js';

/**
 * Counts what the components under test do (store calls, publishes, deliveries, timers),
 * so the harness can tell when a step's consequences have played out: it lets real
 * macrotask turns pass until a turn goes by in which nothing happened and no store call
 * is in flight. This needs no knowledge of the scheduler's or worker's internals.
 */
export class Activity {
  /** Bumped on every observed action; compared across turns. */
  #ticks = 0;
  #inFlight = 0;

  bump(): void {
    this.#ticks++;
  }

  begin(): void {
    this.#ticks++;
    this.#inFlight++;
  }

  end(): void {
    this.#ticks++;
    this.#inFlight--;
  }

  /** Wraps a promise so it counts as in flight until it settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.begin();
    return promise.finally(() => this.end());
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Lets macrotask turns pass until two in a row show no activity and nothing is in
   * flight (bounded: a component that keeps itself busy without timers would otherwise
   * hang the test).
   */
  async quiesce(maxTurns = 500): Promise<void> {
    let stable = 0;
    for (let turn = 0; turn < maxTurns && stable < 2; turn++) {
      const before = this.#ticks;
      await settle(1);
      stable = before === this.#ticks && this.#inFlight === 0 ? stable + 1 : 0;
    }
  }
}
