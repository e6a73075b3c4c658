/**
 * TimerGroup: the worker's per-run deadlines (timeouts, lease ends) on one clock timer.
 * Each timer fires once, never before its instant, in instant order; a cancelled one never
 * fires; the clock timer is gone once nothing is left.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { TimerGroup } from '../../src/util/timer-group.js';

describe('TimerGroup', () => {
  it('fires each timer once, at its instant and never before, in instant order', async () => {
    const clock = new FakeClock(1_000);
    const group = new TimerGroup(clock);
    const fired: Array<[string, number]> = [];
    group.setTimer(() => fired.push(['c', clock.now()]), 300);
    group.setTimer(() => fired.push(['a', clock.now()]), 100);
    group.setTimer(() => fired.push(['b', clock.now()]), 200);
    group.setTimer(() => fired.push(['a2', clock.now()]), 100);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([
      ['a', 1_100],
      ['a2', 1_100],
    ]);
    await clock.advance(500);
    expect(fired).toEqual([
      ['a', 1_100],
      ['a2', 1_100],
      ['b', 1_200],
      ['c', 1_300],
    ]);
    expect(group.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a cancelled timer never fires, and the clock timer goes with the last one', async () => {
    const clock = new FakeClock(0);
    const group = new TimerGroup(clock);
    const fired: string[] = [];
    const early = group.setTimer(() => fired.push('early'), 10);
    const late = group.setTimer(() => fired.push('late'), 50);
    early.cancel();
    await clock.advance(20);
    expect(fired).toEqual([]);
    expect(group.size).toBe(1);
    late.cancel();
    expect(group.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(100);
    expect(fired).toEqual([]);
  });

  it('a timer due with another is not fired once that one cancels it', async () => {
    const clock = new FakeClock(0);
    const group = new TimerGroup(clock);
    const fired: string[] = [];
    let second: { cancel(): void } | undefined;
    group.setTimer(() => {
      fired.push('first');
      second?.cancel();
    }, 10);
    second = group.setTimer(() => fired.push('second'), 10);
    await clock.advance(10);
    expect(fired).toEqual(['first']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('an earlier timer re-arms the clock timer; a timer set from a callback fires at its own instant', async () => {
    const clock = new FakeClock(0);
    const group = new TimerGroup(clock);
    const fired: Array<[string, number]> = [];
    group.setTimer(() => fired.push(['late', clock.now()]), 1_000);
    expect(clock.nextTimerAt()).toBe(1_000);
    group.setTimer(() => {
      fired.push(['early', clock.now()]);
      group.setTimer(() => fired.push(['chained', clock.now()]), 0);
      group.setTimer(() => fired.push(['later', clock.now()]), 5);
    }, 10);
    expect(clock.nextTimerAt()).toBe(10);
    await clock.advance(2_000);
    expect(fired).toEqual([
      ['early', 10],
      ['chained', 10],
      ['later', 15],
      ['late', 1_000],
    ]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('on the system clock, a timer fires at or after its instant', async () => {
    const { systemClock } = await import('../../src/clock.js');
    const group = new TimerGroup(systemClock);
    const set = systemClock.now();
    const at = await new Promise<number>((resolve) => group.setTimer(() => resolve(systemClock.now()), 5));
    expect(at).toBeGreaterThanOrEqual(set + 5);
    expect(group.size).toBe(0);
  });
});
