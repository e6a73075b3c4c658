/**
 * The group-commit batcher on its own: what one round of microtasks submits goes as one
 * call after it, items arriving during a call share the next one, room()
 * holds callers while the backlog is at its bound.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from '../../src/clock.js';
import { Batcher } from '../../src/worker/batcher.js';

function rig(maxSize: number, maxInFlight?: number, overlapAt?: number) {
  const calls: number[][] = [];
  const pending: Array<() => void> = [];
  const batcher = new Batcher<number, number>({
    name: 'test',
    maxSize,
    maxInFlight,
    overlapAt,
    clock: new FakeClock(0),
    run: (items) => {
      calls.push(items);
      return new Promise((resolve) => pending.push(() => resolve(items.map((i) => i * 10))));
    },
  });
  return { batcher, calls, pending };
}

describe('Batcher', () => {
  it('sends what one round of microtasks submitted as one call, and the items that arrive meanwhile together', async () => {
    const { batcher, calls, pending } = rig(100);
    const first = [1, 2].map((i) => batcher.submit(i));
    expect(calls).toEqual([]); // not before the round of microtasks ran
    await settle(1);
    expect(calls).toEqual([[1, 2]]);
    const rest = [3, 4, 5].map((i) => batcher.submit(i));
    await settle();
    expect(calls).toHaveLength(1); // they wait for the call in flight
    pending.shift()!();
    expect(await Promise.all(first)).toEqual([10, 20]);
    await settle();
    expect(calls).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    pending.shift()!();
    expect(await Promise.all(rest)).toEqual([30, 40, 50]);
  });

  it('sends a lone item without waiting for any timer', async () => {
    const { batcher, calls, pending } = rig(100);
    const lone = batcher.submit(7);
    await settle(1);
    expect(calls).toEqual([[7]]);
    pending.shift()!();
    expect(await lone).toBe(70);
  });

  it('room(limit) waits while `limit` items are queued or in flight, and resolves once fewer are', async () => {
    const { batcher, pending } = rig(2);
    const results = [1, 2, 3, 4, 5].map((i) => batcher.submit(i));
    expect(batcher.size).toBe(5);
    let room = false;
    void batcher.room(3).then(() => (room = true));
    await settle();
    expect(room).toBe(false);
    pending.shift()!(); // [1, 2] done; [3, 4] go next: 3 left
    await settle();
    expect(batcher.size).toBe(3);
    expect(room).toBe(false);
    pending.shift()!(); // [3, 4] done: 1 left
    await settle();
    expect(room).toBe(true);
    await expect(batcher.room(3)).resolves.toBeUndefined();
    pending.shift()!();
    await Promise.all(results);
  });

  it('room() resolves when the batcher stops', async () => {
    const { batcher } = rig(1);
    const held = batcher.submit(1).catch((err: Error) => err);
    const room = batcher.room(1);
    batcher.stop();
    await expect(room).resolves.toBeUndefined();
    expect(await held).toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('with maxInFlight 2, a second call starts only while a full batch waits', async () => {
    const { batcher, calls, pending } = rig(2, 2);
    const results = [batcher.submit(1)];
    await settle(1);
    results.push(batcher.submit(2));
    expect(calls).toEqual([[1]]); // one item waiting: it groups behind the call in flight
    results.push(batcher.submit(3));
    expect(calls).toEqual([[1], [2, 3]]); // a full batch waits: a second call starts
    results.push(batcher.submit(4));
    expect(calls).toHaveLength(2);
    pending.shift()!();
    await settle();
    expect(calls).toHaveLength(2); // [4] is no full batch: it waits for the call still in flight
    pending.shift()!();
    await settle();
    expect(calls).toEqual([[1], [2, 3], [4]]);
    pending.shift()!();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40]);
  });

  it('with overlapAt, a second call starts once that many items wait, each call still taking up to maxSize', async () => {
    const { batcher, calls, pending } = rig(100, 2, 3);
    const results = [batcher.submit(1)];
    await settle(1);
    results.push(...[2, 3].map((i) => batcher.submit(i)));
    expect(calls).toEqual([[1]]); // two waiting: fewer than overlapAt
    results.push(batcher.submit(4));
    expect(calls).toEqual([[1], [2, 3, 4]]); // three waiting: a second call
    results.push(...[5, 6, 7, 8].map((i) => batcher.submit(i)));
    expect(calls).toHaveLength(2); // both lanes busy
    pending.shift()!();
    await settle();
    expect(calls).toEqual([[1], [2, 3, 4], [5, 6, 7, 8]]); // a free lane takes all that waits
    pending.shift()!();
    pending.shift()!();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60, 70, 80]);
  });
});
