/**
 * close() against unreachable services (real PostgreSQL and RabbitMQ behind TCP proxies):
 * it must return although a follow-up publish is buffered for a broker that went away, and
 * it keeps retrying results the database could not take yet for `completionFlushTimeout`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createWorker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  f = await workerFixture('wshut');
});

afterAll(async () => {
  await f?.teardown();
  for (const c of cleanups) await c().catch(() => {});
});

const amqpPort = Number(new URL(AMQP_URL).port || 5672);

/** Resolves 'closed', or 'pending' if close() has not returned after `ms` (a hang, not a speed figure). */
async function closeWithin(close: Promise<void>, ms: number): Promise<'closed' | 'pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([close.then(() => 'closed' as const), new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)))]);
  clearTimeout(timer);
  return r;
}

describe('close() with the broker gone', () => {
  it('returns although a retry publish is buffered for the unreachable broker; the retry stays in Postgres for the outbox', async () => {
    const proxy = await startTcpProxy({ port: amqpPort });
    cleanups.push(() => proxy.close());
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
