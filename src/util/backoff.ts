import type { NormalizedBackoff } from '../define/types.js';

/**
 * The delay before retrying after failed attempt `failedAttempt` (1-based): `delay` for
 * `fixed`, `delay × factor^(n-1)` for `exponential`, capped at `maxMs`. `jitter` is the
 * fraction of that delay that is randomised downwards (0.2 → 80–100 % of it), so retries
 * of many runs that failed together spread out instead of hitting a dependency at once,
 * and the cap is never exceeded.
 */
export function backoffDelayMs(backoff: NormalizedBackoff, failedAttempt: number, random: () => number = Math.random): number {
  const n = Number.isFinite(failedAttempt) ? Math.max(1, Math.floor(failedAttempt)) : 1;
  const growth = backoff.type === 'exponential' ? Math.pow(backoff.factor, n - 1) : 1;
  let base = backoff.delayMs * growth;
  if (!Number.isFinite(base)) base = backoff.maxMs;
  base = Math.min(base, backoff.maxMs);
  const jitter = Math.min(1, Math.max(0, backoff.jitter));
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(0, Math.round(base - base * jitter * r));
}
