import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/util/backoff.js';
import type { NormalizedBackoff } from '../../src/define/types.js';

const exponential: NormalizedBackoff = { type: 'exponential', delayMs: 5_000, maxMs: 600_000, factor: 2, jitter: 0 };

describe('backoffDelayMs', () => {
  it('fixed: the same delay every attempt', () => {
    const fixed: NormalizedBackoff = { type: 'fixed', delayMs: 30_000, maxMs: 30_000, factor: 1, jitter: 0 };
    expect([1, 2, 5].map((n) => backoffDelayMs(fixed, n))).toEqual([30_000, 30_000, 30_000]);
  });

  it('exponential: delay × factor^(n-1), capped at maxMs', () => {
    expect([1, 2, 3, 4, 7, 8, 50, 5000].map((n) => backoffDelayMs(exponential, n))).toEqual([
      5_000, 10_000, 20_000, 40_000, 320_000, 600_000, 600_000, 600_000,
    ]);
  });

  it('jitter randomises that fraction of the delay downwards, never above the cap', () => {
    const jittered = { ...exponential, jitter: 0.2 };
    expect(backoffDelayMs(jittered, 1, () => 0)).toBe(5_000);
    expect(backoffDelayMs(jittered, 1, () => 1)).toBe(4_000);
    expect(backoffDelayMs(jittered, 1, () => 0.5)).toBe(4_500);
    expect(backoffDelayMs(jittered, 20, () => 0)).toBe(600_000);
    const full = { ...exponential, jitter: 1 };
    expect(backoffDelayMs(full, 3, () => 1)).toBe(0);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(jittered, 3);
      expect(d).toBeGreaterThanOrEqual(16_000);
      expect(d).toBeLessThanOrEqual(20_000);
    }
  });

  it('never negative, whatever the inputs', () => {
    expect(backoffDelayMs(exponential, 0)).toBe(5_000);
    expect(backoffDelayMs(exponential, -3)).toBe(5_000);
    expect(backoffDelayMs(exponential, Number.NaN)).toBe(5_000);
    expect(backoffDelayMs({ ...exponential, jitter: 0.5 }, 1, () => 7)).toBeGreaterThanOrEqual(0);
    expect(backoffDelayMs({ ...exponential, jitter: 0.5 }, 1, () => -7)).toBe(5_000);
  });
});
