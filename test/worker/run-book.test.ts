/**
 * The worker's run bookkeeping on its own: one entry per run id (a newer attempt replaces
 * the older), claims in flight by (run, attempt), and per queue a window and handler slots
 * that wait when full and refuse waiters once the windows close.
 */
import { describe, expect, it } from 'vitest';
import { settle, systemClock } from '../../src/clock.js';
import { isWarrenError } from '../../src/errors.js';
import type { RunningRun } from '../../src/worker/core.js';
import { RunBook } from '../../src/worker/run-book.js';

function entry(runId: string, attempt: number, opts: { lost?: boolean; settled?: boolean } = {}): RunningRun {
  // Only the fields the book reads; the rest of a held run does not matter here.
  return {
    run: { runId, attempt },
    lost: opts.lost ?? false,
    leaseTimer: { cancel: () => undefined },
    execution: { settled: opts.settled ?? false },
  } as unknown as RunningRun;
}

describe('RunBook', () => {
  it('holds one entry per run id: a newer attempt replaces the older, which can no longer forget it', () => {
    const book = new RunBook({ concurrency: 1, prefetch: 1 }, systemClock);
    const first = entry('r1', 1);
    const second = entry('r1', 2);
    book.hold(first);
    book.hold(second);
    expect(book.size).toBe(1);
    expect(book.get('r1')).toBe(second);
    expect(book.holds(first)).toBe(false);
    book.forget(first);
    expect(book.get('r1')).toBe(second);
    expect(first.leaseTimer).toBeNull();
    book.forget(second);
    expect(book.size).toBe(0);
    expect(second.leaseTimer).toBeNull();
  });

  it('lists the runs to heartbeat (lease not lost) and the ones still running', () => {
    const book = new RunBook({ concurrency: 1, prefetch: 1 }, systemClock);
    book.hold(entry('a', 1));
    book.hold(entry('b', 1, { lost: true }));
    book.hold(entry('c', 1, { settled: true }));
    expect([...book.leased().keys()]).toEqual(['a', 'c']);
    expect(book.unsettled().map((e) => e.run.runId)).toEqual(['a', 'b']);
    expect(book.runs()).toHaveLength(3);
  });

  it('tracks claims in flight by run and attempt', () => {
    const book = new RunBook({ concurrency: 1, prefetch: 1 }, systemClock);
    book.beginClaim('r1', 1);
    expect(book.isClaiming('r1', 1)).toBe(true);
    expect(book.isClaiming('r1', 2)).toBe(false);
    book.endClaim('r1', 1);
    expect(book.isClaiming('r1', 1)).toBe(false);
  });

  it('gives each queue its own window and slots, waits while full, and refuses window waiters once closed', async () => {
    const book = new RunBook({ concurrency: 1, prefetch: 2 }, systemClock);
    const leaveA1 = await book.enterWindow('a');
    await book.enterWindow('a');
    await book.enterWindow('b');
    let entered = false;
    const third = book.enterWindow('a').then((leave) => {
      entered = true;
      return leave;
    });
    await settle();
    expect(entered).toBe(false);
    leaveA1();
    await third;
    expect(entered).toBe(true);

    const slot = await book.takeSlot('a');
    let slotted = false;
    const next = book.takeSlot('a').then(() => (slotted = true));
    await settle();
    expect(slotted).toBe(false);
    slot();
    await next;

    const refused = book.enterWindow('a');
    book.closeWindows();
    const err = await refused.catch((e: unknown) => e);
    expect(isWarrenError(err) && err.code).toBe('ERR_CLOSED');
  });
});
