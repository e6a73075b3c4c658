/**
 * close() against unreachable services (real PostgreSQL and RabbitMQ behind TCP proxies):
 * it must return although a follow-up publish is buffered for a broker that went away, and
 * it keeps retrying results the database could not take yet for `completionFlushTimeout`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { Store } from '../../src/store/port.js';
import { createWorker } from '../../src/worker/index.js';
import { AMQP_PORT, AMQP_URL } from '../helpers/env.js';
import { startPgProxy } from '../helpers/pg-proxy.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;

beforeAll(async () => {
  f = await workerFixture('wshut');
});

afterAll(async () => {
  await f?.teardown();
});

/** Resolves 'closed', or 'pending' if close() has not returned after `ms` (a hang, not a speed figure). */
async function closeWithin(close: Promise<void>, ms: number): Promise<'closed' | 'pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    close.then(() => 'closed' as const),
    new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms))),
  ]);
  clearTimeout(timer);
  return r;
}

/** A PgStore through the proxy, counting completeRuns calls that failed. */
function countingStore(store: PgStore): { store: Store; failedCompletions: () => number } {
  let failed = 0;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'completeRuns') {
        return async (...args: unknown[]) => {
          try {
            return await value.apply(target, args);
          } catch (err) {
            failed += 1;
            throw err;
          }
        };
      }
      return value.bind(target);
    },
  });
  return { store: wrapped, failedCompletions: () => failed };
}

describe('close() with the broker gone', () => {
  it('returns although a retry publish is buffered for the unreachable broker; the retry stays in Postgres for the outbox', async () => {
    const proxy = await startTcpProxy({ port: AMQP_PORT });
    f.defer(() => proxy.close());
    const job = defineJob({ id: 'retry-offline', retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '5s' } } });
    let fail!: (err: Error) => void;
    let started = false;
    const worker = f.track(
      createWorker({
        pool: f.pool,
        schema: f.schema,
        amqpUrl: proxy.url(AMQP_URL),
        scope: f.scope,
        shutdownGrace: '1s',
        jobs: [{ definition: job, handler: () => new Promise<void>((_, reject) => ((fail = reject), (started = true))) }],
      }),
    );
    worker.on('error', () => {});
    await worker.start();
    await worker.ready();
    const [run] = await f.enqueue(job, [{}]);
    await waitFor(() => started, 'the handler started');
    proxy.pause();
    proxy.cutAll();
    fail(new Error('boom'));
    // The failure and the retry are one statement; the retry's publish now waits for a broker.
    await waitFor(async () => (await f.store.getRun(run!.runId))?.attempt === 2, 'the retry recorded');
    // Far above shutdownGrace, below the transport's publishTimeout (30 s) that would end the wait otherwise.
    expect(await closeWithin(worker.close(), 15_000)).toBe('closed');
    expect(await f.store.getRun(run!.runId)).toMatchObject({ status: 'pending', attempt: 2, publishedAt: null });
  }, 40_000);
});

/**
 * A worker on a PgStore behind a proxy whose one run's handler finishes just after the
 * database went away: returns once writing its result has failed at least once.
 */
async function resultUnwritable(jobId: string, completionFlushTimeout: string) {
  const proxy = await startPgProxy();
  f.defer(() => proxy.close());
  const { store, failedCompletions } = countingStore(new PgStore({ pool: proxy.pool(), schema: f.schema }));
  f.defer(() => (store as PgStore).close());
  const job = defineJob({ id: jobId });
  let finish!: () => void;
  let started = false;
  const errors: Error[] = [];
  const worker = f.track(
    createWorker({
      store,
      amqpUrl: AMQP_URL,
      scope: f.scope,
      shutdownGrace: '0s',
      completionFlushTimeout,
      jobs: [{ definition: job, handler: () => new Promise<void>((resolve) => ((finish = resolve), (started = true))) }],
    }),
  );
  worker.on('error', (err) => errors.push(err));
  await worker.start();
  await worker.ready();
  const [run] = await f.enqueue(job, [{}]);
  await waitFor(() => started, 'the handler started');
  proxy.pause();
  proxy.cutAll();
  finish();
  await waitFor(() => failedCompletions() >= 1, 'the result failed to be written');
  return { proxy, worker, run, failedCompletions, errors };
}

describe('close() with the database gone', () => {
  it('keeps retrying a result after the grace and writes it once the database is back within completionFlushTimeout', async () => {
    const { proxy, worker, run, failedCompletions, errors } = await resultUnwritable('flush-late', '40s');
    const closing = worker.close();
    // The grace (0 s) is over: the result is still being retried.
    const atClose = failedCompletions();
    await waitFor(() => failedCompletions() >= atClose + 2, 'the result retried during close()', { timeoutMs: 20_000 });
    proxy.resume();
    expect(await closeWithin(closing, 45_000)).toBe('closed');
    expect(await f.store.getRun(run!.runId)).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(worker.stats().succeeded).toBe(1);
    expect(errors).toEqual([]);
  }, 60_000);

  it('gives up after completionFlushTimeout with an error naming the results left to lease expiry', async () => {
    const { worker, run, errors } = await resultUnwritable('flush-never', '1s');
    await worker.close();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/closed with 1 run result\(s\) not recorded/)]);
    expect(await f.store.getRun(run!.runId)).toMatchObject({ status: 'running', attempt: 1 });
  }, 60_000);
});
