/**
 * price-monitor's long-running part: a loop that polls prices between a `start` run and a
 * `stop` run. A run only flips it; the loop lives in the process, not in the run.
 */
import type { ServiceLogger } from './log.js';
import { pick } from './work.js';

/** KRX regular session: weekdays 09:00-15:30 in Seoul. */
export function marketOpen(at: Date): boolean {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Seoul', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const minutes = Number(parts.hour) * 60 + Number(parts.minute);
  return !['Sat', 'Sun'].includes(parts.weekday!) && minutes >= 9 * 60 && minutes < 15 * 60 + 30;
}

export class PriceLoop {
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  readonly #log: ServiceLogger;
  readonly #tickMs: number;

  constructor(log: ServiceLogger, tickMs: number) {
    this.#log = log;
    this.#tickMs = tickMs;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Idempotent: a second `start` (a retry, a manual run) leaves the running loop alone. */
  start(fields: Record<string, unknown>): void {
    if (this.#timer) {
      this.#log.info(fields, 'price monitor already running');
      return;
    }
    this.#ticks = 0;
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#log.info({ ...fields, tick_ms: this.#tickMs }, 'price monitor started');
  }

  stop(fields: Record<string, unknown>): void {
    if (!this.#timer) {
      this.#log.info(fields, 'price monitor already stopped');
      return;
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#log.info({ ...fields, ticks: this.#ticks }, 'price monitor stopped');
  }

  #tick(): void {
    this.#ticks++;
    this.#log.debug({ symbols: pick(40, 60), alerts: pick(0, 2) }, 'prices polled');
  }
}
