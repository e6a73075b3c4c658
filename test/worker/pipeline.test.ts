/**
 * The worker's hot path against PostgreSQL and RabbitMQ: claims batch while handlers run
 * (prefetch above concurrency), a handler slot frees before its result commits, results
 * of many runs are written in few batched calls, and close() flushes pending results.
 * Calls are counted by a Store that delegates to the real PgStore (pg itself is not mocked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import type { ClaimContext, ClaimRequest, Completion, Store } from '../../src/store/port.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { runsOf, workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;

beforeAll(async () => {
  f = await workerFixture('wpipe');
});

afterAll(async () => {
  await f?.teardown();
});

/** A gate a call can wait at until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

interface Counting {
  store: Store;
  claimSizes: number[];
  completeSizes: number[];
  /** Calls entered (maybe still waiting at a gate). */
  completeEntered: number;
  /** While set, completeRuns waits for it before touching the database. */
  completeGate: Promise<void> | null;
  /** While set, claimRuns waits for it before touching the database. */
  claimGate: Promise<void> | null;
}

/** The real PgStore, with claimRuns/completeRuns counted (and optionally held at a gate). */
function counting(inner: Store): Counting {
  const c: Counting = {
    claimSizes: [],
    completeSizes: [],
    completeEntered: 0,
    completeGate: null,
    claimGate: null,
    store: new Proxy(inner, {
      get(target, prop) {
        if (prop === 'claimRuns') {
          return async (requests: ClaimRequest[], ctx: ClaimContext) => {
            if (c.claimGate) await c.claimGate;
            c.claimSizes.push(requests.length);
            return target.claimRuns(requests, ctx);
          };
        }
        if (prop === 'completeRuns') {
          return async (completions: Completion[]) => {
            c.completeEntered += 1;
            if (c.completeGate) await c.completeGate;
            c.completeSizes.push(completions.length);
            return target.completeRuns(completions);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Store,
  };
  return c;
}

function startWorker(store: Store, jobs: Array<{ definition: any; handler: any }>, extra: Record<string, unknown> = {}): Worker {
  const worker = f.track(createWorker({ store, amqpUrl: AMQP_URL, scope: f.scope, jobs, ...extra }));
  void worker.start();
  return worker;
}

const succeeded = async (jobId: string, n: number) =>
  (await runsOf(f.store, f.scope, jobId)).filter((r) => r.status === 'succeeded').length === n;

describe('the worker hot path', () => {
  it('claims batch beyond the concurrency: deliveries taken ahead are claimed together while handlers run', async () => {
    const job = defineJob({ id: 'ahead', queue: 'ahead', overlap: 'allowAll' });
    const c = counting(f.store);
    const hold = gate();
    c.claimGate = hold.opened;
    const worker = startWorker(c.store, [{ definition: job, handler: async () => {} }], { concurrency: 2, prefetch: 6 });
    await worker.ready();
    await f.enqueue(
      job,
      Array.from({ length: 6 }, () => ({})),
    );
    // The first claim is held: the rest of the window (prefetch 6, not concurrency 2) arrives meanwhile.
    await waitFor(() => worker.stats().received === 6, 'six deliveries taken with two handler slots');
    c.claimGate = null;
    hold.open();
    await waitFor(() => succeeded('ahead', 6), 'six runs succeeded');
    expect(c.claimSizes.reduce((a, b) => a + b, 0)).toBe(6);
    expect(Math.max(...c.claimSizes)).toBeGreaterThan(2);
    expect(worker.stats()).toMatchObject({ claimed: 6, succeeded: 6, duplicates: 0 });
    await worker.close();
  });

  it('a run claimed ahead waits for a handler slot: never more handlers than the concurrency', async () => {
    const job = defineJob({ id: 'slots', queue: 'slots', overlap: 'allowAll' });
    const c = counting(f.store);
    const release = gate();
    let running = 0;
    let most = 0;
    let calls = 0;
    const worker = startWorker(
      c.store,
      [
        {
          definition: job,
          handler: async () => {
            calls += 1;
            running += 1;
            most = Math.max(most, running);
            await release.opened;
            running -= 1;
          },
        },
      ],
      { concurrency: 1, prefetch: 3 },
    );
    await worker.ready();
    await f.enqueue(
      job,
      Array.from({ length: 3 }, () => ({})),
    );
    await waitFor(() => worker.stats().claimed === 3, 'three runs claimed');
    expect(calls).toBe(1);
    const rows = await runsOf(f.store, f.scope, 'slots');
    expect(rows.every((r) => r.status === 'running' && r.workerId === worker.workerId)).toBe(true);
    release.open();
    await waitFor(() => succeeded('slots', 3), 'three runs succeeded');
    expect(most).toBe(1);
    expect(calls).toBe(3);
    await worker.close();
  });

  it('a handler slot frees before its result commits, and many results go in fewer completeRuns calls than runs', async () => {
    const job = defineJob({ id: 'pipelined', queue: 'pipelined', overlap: 'allowAll' });
    const c = counting(f.store);
    const hold = gate();
    c.completeGate = hold.opened;
    let calls = 0;
    const worker = startWorker(c.store, [{ definition: job, handler: async () => void (calls += 1) }], { concurrency: 1, prefetch: 1 });
    await worker.ready();
    await f.enqueue(
      job,
      Array.from({ length: 12 }, () => ({})),
    );
    // The first result is held uncommitted; the one slot still runs the other eleven handlers.
    await waitFor(() => calls === 12, 'all twelve handlers ran while the first result was held');
    expect(c.completeEntered).toBe(1);
    expect(c.completeSizes).toEqual([]);
    expect((await runsOf(f.store, f.scope, 'pipelined')).filter((r) => r.status === 'succeeded')).toHaveLength(0);
    c.completeGate = null;
    hold.open();
    await waitFor(() => succeeded('pipelined', 12), 'twelve runs succeeded');
    expect(c.completeSizes.reduce((a, b) => a + b, 0)).toBe(12);
    expect(c.completeSizes.length).toBeLessThan(12);
    expect(worker.stats()).toMatchObject({ claimed: 12, succeeded: 12 });
    await worker.close();
  });

  it('close() runs the runs claimed ahead that wait for a slot, within the grace', async () => {
    const job = defineJob({ id: 'drain', queue: 'drain', overlap: 'allowAll' });
    const release = gate();
    let calls = 0;
    const worker = startWorker(
      f.store,
      [
        {
          definition: job,
          handler: async () => {
            calls += 1;
            await release.opened;
          },
        },
      ],
      { concurrency: 1, prefetch: 3 },
    );
    await worker.ready();
    await f.enqueue(
      job,
      Array.from({ length: 3 }, () => ({})),
    );
    await waitFor(() => worker.stats().claimed === 3, 'three runs claimed, one running');
    const closing = worker.close();
    await waitFor(() => worker.state === 'closing', 'the worker closing');
    release.open();
    await closing;
    expect(calls).toBe(3);
    expect(await succeeded('drain', 3)).toBe(true);
  });

  it('close() flushes results still waiting to be written', async () => {
    const job = defineJob({ id: 'flush', queue: 'flush', overlap: 'allowAll' });
    const c = counting(f.store);
    const hold = gate();
    c.completeGate = hold.opened;
    let calls = 0;
    const worker = startWorker(c.store, [{ definition: job, handler: async () => void (calls += 1) }], { concurrency: 2 });
    await worker.ready();
    await f.enqueue(
      job,
      Array.from({ length: 4 }, () => ({})),
    );
    await waitFor(() => calls === 4 && c.completeEntered >= 1, 'four handlers done, their results pending');
    let closed = false;
    const closing = worker.close().then(() => (closed = true));
    await waitFor(() => worker.state === 'closing', 'the worker closing');
    expect(closed).toBe(false);
    c.completeGate = null;
    hold.open();
    await closing;
    expect(c.completeSizes.reduce((a, b) => a + b, 0)).toBe(4);
    expect(await succeeded('flush', 4)).toBe(true);
    expect(worker.stats()).toMatchObject({ claimed: 4, succeeded: 4 });
  });
});
