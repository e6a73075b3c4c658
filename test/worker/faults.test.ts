import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createWorker } from '../../src/worker/index.js';
import { AMQP_PORT, AMQP_URL } from '../helpers/env.js';
import { startPgProxy } from '../helpers/pg-proxy.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { runsOf, workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;

beforeAll(async () => {
  f = await workerFixture('wfault');
});

afterAll(async () => {
  await f?.teardown();
});

describe('boot in any order', () => {
  it('a worker started with the broker unreachable processes its queue once it is reachable', async () => {
    const proxy = await startTcpProxy({ port: AMQP_PORT }, { paused: true });
    f.defer(() => proxy.close());
    const job = defineJob({ id: 'late-broker', overlap: 'allowAll' });
    const ran: string[] = [];
    const worker = f.track(
      createWorker({
        pool: f.pool,
        schema: f.schema,
        amqpUrl: proxy.url(AMQP_URL),
        scope: f.scope,
        jobs: [{ definition: job, handler: async (ctx) => void ran.push(ctx.runId) }],
      }),
    );
    let started = false;
    worker.on('started', () => (started = true));
    await worker.start(); // resolves although the broker is unreachable
    const runs = await f.enqueue(job, [{}, {}]);
    // Definitions still sync (the database is up), but nothing can be consumed yet.
    await waitFor(async () => (await f.store.getJob(f.scope, 'late-broker')) !== null, 'definitions synced');
    expect(started).toBe(false);
    expect(ran).toEqual([]);
    proxy.resume();
    await waitFor(() => ran.length === 2, 'both runs once the broker is reachable', { timeoutMs: 45_000 });
    expect(ran.sort()).toEqual(runs.map((r) => r.runId).sort());
    expect(started).toBe(true);
    await worker.close();
  });

  it('a worker started with the database unreachable starts, and processes once it is reachable', async () => {
    const proxy = await startPgProxy({ paused: true });
    f.defer(() => proxy.close());
    const job = defineJob({ id: 'late-db', overlap: 'allowAll' });
    const ran: string[] = [];
    const worker = f.track(
      createWorker({
        pool: proxy.pool(),
        schema: f.schema,
        amqpUrl: AMQP_URL,
        scope: f.scope,
        jobs: [{ definition: job, handler: async (ctx) => void ran.push(ctx.runId) }],
      }),
    );
    await worker.start(); // resolves although the database is unreachable
    // Published while the worker cannot reach Postgres: its deliveries wait unacked.
    const runs = await f.enqueue(job, [{}, {}, {}]);
    await waitFor(() => worker.stats().received >= 3, 'the deliveries received');
    expect(ran).toEqual([]);
    proxy.resume();
    await waitFor(() => ran.length === 3, 'all runs once the database is reachable', { timeoutMs: 45_000 });
    expect(ran.sort()).toEqual(runs.map((r) => r.runId).sort());
    await waitFor(async () => (await runsOf(f.store, f.scope, 'late-db')).every((r) => r.status === 'succeeded'), 'rows succeeded');
    await worker.close();
  });
});

describe('a connection cut while jobs flow', () => {
  it('500 runs: every row ends succeeded and each handler ran exactly once', async () => {
    const proxy = await startTcpProxy({ port: AMQP_PORT });
    f.defer(() => proxy.close());
    const job = defineJob({ id: 'flow', overlap: 'allowAll', timeout: '1m' });
    const counts = new Map<string, number>();
    const worker = f.track(
      createWorker({
        pool: f.pool,
        schema: f.schema,
        amqpUrl: proxy.url(AMQP_URL),
        scope: f.scope,
        concurrency: 20,
        jobs: [
          {
            definition: job,
            handler: async (ctx) => {
              counts.set(ctx.runId, (counts.get(ctx.runId) ?? 0) + 1);
              // A little work, so the cut lands while messages are in flight.
              await new Promise((r) => setTimeout(r, 10));
            },
          },
        ],
      }),
    );
    await worker.start();
    await worker.ready();
    const runs = await f.enqueue(
      job,
      Array.from({ length: 500 }, () => ({})),
    );
    await waitFor(() => worker.stats().succeeded >= 100, '100 runs done before the cut');
    proxy.cutAll();
    // The cut landed mid-flow: runs were still queued or unacked.
    expect(worker.stats().succeeded).toBeLessThan(500);
    await waitFor(
      async () => {
        const rows = await runsOf(f.store, f.scope, 'flow');
        return rows.length === 500 && rows.every((r) => r.status === 'succeeded');
      },
      'all 500 rows succeeded',
      { timeoutMs: 50_000 },
    );
    expect(counts.size).toBe(500);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(runs.map((r) => r.runId))).toEqual(new Set(counts.keys()));
    await worker.close();
  });
});
