import type { Clock, Timer } from '../clock.js';

/**
 * Many one-shot timers on one clock timer. A worker keeps two deadlines per run it holds
 * (the job's timeout and the local lease deadline) that almost never fire: at thousands of
 * runs a second, a Node timer each (armed, then cleared) was a measurable share of the
 * worker's CPU and allocations. Here a timer is one small object in a set; the clock timer
 * is armed for the earliest, and re-armed only when an earlier one comes or it fired.
 * Like `Clock.setTimer`, a timer never fires before its instant; timers due together fire
 * in instant order (then the order they were set).
 */
export class TimerGroup implements Pick<Clock, 'setTimer'> {
  readonly #clock: Clock;
  readonly #timers = new Set<GroupTimer>();
  #armed: Timer | null = null;
  /** The instant the clock timer is armed for (Infinity when it is not). */
  #armedAt = Infinity;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer = new GroupTimer(this, this.#clock.now() + Math.max(0, ms), fn);
    this.#timers.add(timer);
    if (timer.at < this.#armedAt) this.#arm(timer.at);
    return timer;
  }

  /** Timers set and neither fired nor cancelled. */
  get size(): number {
    return this.#timers.size;
  }

  remove(timer: GroupTimer): void {
    if (!this.#timers.delete(timer) || this.#timers.size > 0) return;
    // Nothing left: no clock timer keeps the process alive. (An earlier cancelled one just
    // fires and re-arms for the rest.)
    this.#armed?.cancel();
    this.#armed = null;
    this.#armedAt = Infinity;
  }

  #arm(at: number): void {
    this.#armed?.cancel();
    this.#armedAt = at;
    this.#armed = this.#clock.setTimer(() => this.#fire(), at - this.#clock.now());
  }

  #fire(): void {
    this.#armed = null;
    this.#armedAt = Infinity;
    const now = this.#clock.now();
    const due: GroupTimer[] = [];
    let next = Infinity;
    for (const timer of this.#timers) {
      if (timer.at <= now) due.push(timer);
      else if (timer.at < next) next = timer.at;
    }
    for (const timer of due) this.#timers.delete(timer);
    // Armed before the callbacks run: one that sets a timer re-arms only for an earlier one.
    if (next !== Infinity) this.#arm(next);
    due.sort((a, b) => a.at - b.at);
    // One due timer's callback may cancel another due one: that one does not fire.
    for (const timer of due) if (!timer.cancelled) timer.fn();
  }
}

class GroupTimer implements Timer {
  cancelled = false;

  constructor(
    readonly group: TimerGroup,
    readonly at: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
    this.group.remove(this);
  }
}
