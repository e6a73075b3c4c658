/**
 * Capped exponential backoff with full jitter (AWS architecture blog): a fleet that lost
 * its broker together does not reconnect in lockstep.
 */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const cap = Math.min(this.maxMs, Math.max(this.minMs, 1) * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(this.minMs + this.random() * Math.max(0, cap - this.minMs));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
