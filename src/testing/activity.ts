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

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Lets macrotask turns pass until nothing is in flight and a turn went by in which
   * nothing happened. One turn drains every microtask chain, and the in-memory store and
   * broker only ever continue on microtasks, so usually one turn is enough: work still
   * in flight after it (a slower backend) earns more turns until it is quiet.
   * Bounded: a component that keeps itself busy without timers would otherwise hang.
   */
  async quiesce(maxTurns = 1_000): Promise<void> {
    for (let turn = 0; turn < maxTurns; turn++) {
      const before = this.#ticks;
      await settle(1);
      if (this.#inFlight === 0 && (turn === 0 || before === this.#ticks)) return;
    }
  }
}
