/**
 * The one backoff formula, for a job's retry policy and for warren's own infrastructure
 * retries (reconnects, lease renewals, the LISTEN connection, liveness, batch retries).
 * The delay before attempt n+1 is `delayMs × factor^(n-1)`, capped at `maxMs`; `jitter` is
 * the fraction of that delay randomised downwards (0.2 → 80–100 % of it), so processes
 * that failed together spread out instead of retrying in lock-step, and the cap is never
 * exceeded. The random source is injectable, so tests pin it.
 */

/** A source of numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

export interface BackoffPolicy {
  /** `fixed` ignores `factor`. @default 'exponential' */
  type?: 'fixed' | 'exponential';
  /** The first delay, in ms. */
  delayMs: number;
  /** The cap, in ms. */
  maxMs: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** The fraction of each delay randomised downwards, 0 to 1. @default 0.5 */
  jitter?: number;
}

/** The delay (ms) before retrying after failed attempt `failedAttempt` (1-based). */
export function backoffDelayMs(policy: BackoffPolicy, failedAttempt: number, random: RandomSource = Math.random): number {
  const n = Number.isFinite(failedAttempt) ? Math.max(1, Math.floor(failedAttempt)) : 1;
  const growth = policy.type === 'fixed' ? 1 : Math.pow(policy.factor ?? 2, n - 1);
  let base = policy.delayMs * growth;
  if (!Number.isFinite(base)) base = policy.maxMs;
  base = Math.min(base, policy.maxMs);
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(0, Math.round(base - base * jitter * r));
}

/** A retry loop's backoff: counts the failures since the last success. */
export class Backoff {
  #failures = 0;
  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: RandomSource = Math.random,
  ) {}

  /** The delay after one more failure. */
  next(): number {
    this.#failures++;
    return backoffDelayMs(this.policy, this.#failures, this.random);
  }

  /** A success: the next failure starts from `delayMs` again. */
  reset(): void {
    this.#failures = 0;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }
}
