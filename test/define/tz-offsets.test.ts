import { describe, expect, it } from 'vitest';
import { nextTransition } from '../../src/define/tz-offsets.js';

const at = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

/**
 * nextTransition keeps each zone's transitions once found: questions inside the searched
 * span, before it, after it and far from it answer as a fresh day-by-day search would.
 * Europe/Berlin's 2025 changes: 2025-03-30T01:00Z (CET → CEST) and 2025-10-26T01:00Z.
 */
describe('nextTransition (remembered per zone)', () => {
  // A zone no other test in this file uses, so the first question builds its span.
  const tz = 'Europe/Berlin';
  const spring = at('2025-03-30T01:00:00Z');
  const autumn = at('2025-10-26T01:00:00Z');

  it('answers inside, before, after and far from the span it searched first', () => {
    // The first question searches (2025-06-01, 2025-12-31].
    expect(nextTransition(tz, at('2025-06-01T00:00:00Z'), at('2025-12-31T00:00:00Z'))).toBe(autumn);
    // Inside the span: exclusive at `from`, inclusive at `to`.
    expect(nextTransition(tz, autumn, at('2025-12-31T00:00:00Z'))).toBeNull();
    expect(nextTransition(tz, autumn - 1, autumn)).toBe(autumn);
    expect(nextTransition(tz, at('2025-07-01T00:00:00Z'), autumn - 1)).toBeNull();
    // Before the span (it widens backwards), then after it (forwards).
    expect(nextTransition(tz, at('2025-01-01T00:00:00Z'), at('2025-12-31T00:00:00Z'))).toBe(spring);
    expect(nextTransition(tz, at('2025-11-01T00:00:00Z'), at('2026-12-31T00:00:00Z'))).toBe(at('2026-03-29T01:00:00Z'));
    // Far from the span: answered by a direct search.
    expect(nextTransition(tz, at('2010-01-01T00:00:00Z'), at('2010-06-01T00:00:00Z'))).toBe(at('2010-03-28T01:00:00Z'));
    // Empty ranges.
    expect(nextTransition(tz, spring, spring)).toBeNull();
    expect(nextTransition(tz, spring, spring - DAY)).toBeNull();
  });

  it('finds none in a zone without changes', () => {
    expect(nextTransition('Asia/Tokyo', at('2025-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))).toBeNull();
    expect(nextTransition('Asia/Tokyo', at('2025-06-01T00:00:00Z'), at('2026-06-01T00:00:00Z'))).toBeNull();
  });
});
