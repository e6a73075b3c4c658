import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock, SystemClock, settle, systemClock } from '../src/clock.js';

describe('FakeClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires timers in order, each at its own instant, ties in scheduling order', async () => {
    const clock = new FakeClock(new Date('2026-01-01T00:00:00Z'));
    const start = clock.now();
    const fired: [string, number][] = [];
    const at = (label: string, ms: number) => clock.setTimer(() => fired.push([label, clock.now() - start]), ms);
    at('c', 30);
    at('a1', 10);
    at('b', 20);
    at('a2', 10);
    expect(clock.nextTimerAt()).toBe(start + 10);
    await clock.advance(25);
    expect(fired).toEqual([
      ['a1', 10],
      ['a2', 10],
      ['b', 20],
    ]);
    expect(clock.now()).toBe(start + 25);
    await clock.advanceTo(new Date(start + 30));
    expect(fired.at(-1)).toEqual(['c', 30]);
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it('a timer armed by a callback fires within the same advance, at its instant', async () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.setTimer(() => {
      fired.push(clock.now());
      clock.setTimer(() => fired.push(clock.now()), 15);
    }, 10);
    await clock.advance(100);
    expect(fired).toEqual([10, 25]);
    expect(clock.now()).toBe(100);
  });

  it('lets promise chains started by a timer settle before time moves on', async () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    clock.setTimer(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => seen.push(`chain done at ${clock.now()}`));
    }, 10);
    clock.setTimer(() => seen.push(`second timer at ${clock.now()}`), 20);
    await clock.advance(30);
    expect(seen).toEqual(['chain done at 10', 'second timer at 20']);
  });

  it('cancelled timers never fire; flush fires only what is due', async () => {
    const clock = new FakeClock(1_000);
    const fired: string[] = [];
    const t = clock.setTimer(() => fired.push('cancelled'), 5);
    clock.setTimer(() => fired.push('now'), 0);
    clock.setTimer(() => fired.push('later'), 50);
    t.cancel();
    expect(clock.pendingTimers()).toBe(2);
    await clock.flush();
    expect(fired).toEqual(['now']);
    expect(clock.now()).toBe(1_000);
    await clock.advance(50);
    expect(fired).toEqual(['now', 'later']);
  });

  it('sleep resolves when time reaches it, and rejects with the reason on abort', async () => {
    const clock = new FakeClock(0);
    let woke: number | undefined;
    const sleeping = clock.sleep(100).then(() => {
      woke = clock.now();
    });
    await clock.advance(99);
    expect(woke).toBeUndefined();
    await clock.advance(1);
    await sleeping;
    expect(woke).toBe(100);

    const controller = new AbortController();
    const aborted = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('shutting down'));
    await expect(aborted).rejects.toThrow('shutting down');
    expect(clock.pendingTimers()).toBe(0);

    const already = AbortSignal.abort(new Error('too late'));
    await expect(clock.sleep(10, already)).rejects.toThrow('too late');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('never patches globals: works beside vi.useFakeTimers and ignores its timers', async () => {
    vi.useFakeTimers();
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('fake clock'), 10);
    setTimeout(() => fired.push('vitest timer'), 10);
    await clock.advance(10);
    expect(fired).toEqual(['fake clock']);
    clock.setTimer(() => fired.push('fake clock again'), 10);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['fake clock', 'vitest timer']);
    await clock.advance(10);
    expect(fired).toEqual(['fake clock', 'vitest timer', 'fake clock again']);
  });
});

describe('SystemClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never fires a timer before its due time', async () => {
    const clock = new SystemClock();
    const checks = await Promise.all(
      [0, 1, 2, 5, 10, 17, 30].map(
        (ms) =>
          new Promise<{ due: number; at: number }>((resolve) => {
            const due = clock.now() + ms;
            clock.setTimer(() => resolve({ due, at: clock.now() }), ms);
          }),
      ),
    );
    for (const { due, at } of checks) expect(at).toBeGreaterThanOrEqual(due);
  });

  it('a cancelled timer does not fire', async () => {
    const fired: string[] = [];
    const t = systemClock.setTimer(() => fired.push('cancelled'), 5);
    t.cancel();
    await new Promise<void>((resolve) =>
      systemClock.setTimer(() => {
        fired.push('later');
        resolve();
      }, 25),
    );
    expect(fired).toEqual(['later']);
  });

  it('sleep resolves no earlier than asked and rejects on abort', async () => {
    const before = systemClock.now();
    await systemClock.sleep(20);
    expect(systemClock.now()).toBeGreaterThanOrEqual(before + 20);
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
  });

  it('keeps real time while vi.useFakeTimers() is active', async () => {
    vi.useFakeTimers();
    const before = systemClock.now();
    await systemClock.sleep(15);
    expect(systemClock.now()).toBeGreaterThanOrEqual(before + 15);
    await settle();
  });
});
