/**
 * withDeadline: the one way close() bounds a wait (grace, results' flush, tail). The
 * promise wins when it settles first; the deadline wins (and says so once) when its timer
 * fires first; either way no timer is left behind.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from '../../src/clock.js';
import { withDeadline } from '../../src/util/deadline.js';

describe('withDeadline', () => {
  it('resolves true when the promise settles first, and clears its timer', async () => {
    const clock = new FakeClock(0);
    let timeouts = 0;
    let finish!: () => void;
    const work = new Promise<void>((resolve) => (finish = resolve));
    const waiting = withDeadline(clock, work, 1000, () => timeouts++);
    await clock.advance(999);
    finish();
    await expect(waiting).resolves.toBe(true);
    expect(timeouts).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('resolves false once the time is over, after calling onTimeout once', async () => {
    const clock = new FakeClock(0);
    let timeouts = 0;
    let outcome: boolean | undefined;
    void withDeadline(clock, new Promise(() => undefined), 1000, () => timeouts++).then((done) => (outcome = done));
    await clock.advance(999);
    expect(outcome).toBeUndefined();
    await clock.advance(1);
    expect(outcome).toBe(false);
    expect(timeouts).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('with no time left still waits for its timer, so a promise settling meanwhile wins', async () => {
    const clock = new FakeClock(0);
    let timeouts = 0;
    await expect(withDeadline(clock, Promise.resolve(), 0, () => timeouts++)).resolves.toBe(true);
    let outcome: boolean | undefined;
    void withDeadline(clock, new Promise(() => undefined), 0, () => timeouts++).then((done) => (outcome = done));
    await settle();
    expect(outcome).toBeUndefined();
    await clock.flush();
    expect(outcome).toBe(false);
    expect(timeouts).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('passes a rejection on and clears its timer', async () => {
    const clock = new FakeClock(0);
    await expect(withDeadline(clock, Promise.reject(new Error('boom')), 1000)).rejects.toThrow('boom');
    expect(clock.pendingTimers()).toBe(0);
  });
});
