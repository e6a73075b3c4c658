import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createWorker, type WorkerOptions } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { runsOf, workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;

beforeAll(async () => {
  f = await workerFixture('wlife');
});

afterAll(async () => {
  await f?.teardown();
});

function worker(options: Partial<WorkerOptions>) {
  return f.track(createWorker({ pool: f.pool, schema: f.schema, amqpUrl: AMQP_URL, scope: f.scope, ...options } as WorkerOptions));
}

describe('queue-mode chains', () => {
  it('a 1 s chain runs several links; pausing the job kills it', async () => {
    const job = defineJob({ id: 'ticker', schedule: { every: '1s' }, reschedule: 'queue', retry: { maxAttempts: 1 } });
    const calls: Array<{ runId: string; source: string; at: number }> = [];
    const w = worker({
      jobs: [{ definition: job, handler: async (ctx) => void calls.push({ runId: ctx.runId, source: ctx.triggerSource, at: Date.now() }) }],
    });
    await w.start();
    await w.ready();
    await f.enqueue(job, [{ triggerSource: 'scheduler' }]);
    await waitFor(() => calls.length >= 4, 'four links of the chain', { timeoutMs: 20_000 });
    expect(calls.slice(1).every((c) => c.source === 'chain')).toBe(true);
    // Fixed delay: each link starts no earlier than 1 s after the previous one finished.
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(1000);

    await f.store.setEnabled(f.scope, 'ticker', false, { now: new Date(), note: 'test pause' });
    const pausedAt = calls.length;
    // The link in flight at pause is recorded cancelled (stale epoch) or never inserted;
    // either way the chain ends with nothing pending or running.
    const rows = await waitFor(
      async () => {
        const all = await runsOf(f.store, f.scope, 'ticker');
        return all.every((r) => r.status !== 'pending' && r.status !== 'running') ? all : null;
      },
      'the chain to end',
      { timeoutMs: 10_000 },
    );
    // At most the link already running when the job was paused ran after it.
    expect(calls.length - pausedAt).toBeLessThanOrEqual(1);
    expect(rows.filter((r) => r.status === 'succeeded')).toHaveLength(calls.length);
    const ended = rows.filter((r) => r.status !== 'succeeded');
    expect(ended.every((r) => r.status === 'cancelled')).toBe(true);
    // Nothing more arrives: the last link (if any) was dropped as stale.
    const stale = await f.store.listRuns(f.scope, { jobId: 'ticker', status: 'cancelled' });
    if (stale.length > 0) await waitFor(() => w.stats().staleEpoch >= 1, 'the stale link dropped by the worker');
    await w.close();
  });
});

describe('runOnStartup', () => {
  it('two workers booting together produce one startup run', async () => {
    const job = defineJob({ id: 'warmup', runOnStartup: true });
    const calls: string[] = [];
    const jobs = [{ definition: job, handler: async (ctx: any) => void calls.push(`${ctx.triggerSource}:${ctx.runId}`) }];
    const a = worker({ jobs, workerId: 'replica-a' });
    const b = worker({ jobs, workerId: 'replica-b' });
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.ready(), b.ready()]);
    await waitFor(
      async () => (await runsOf(f.store, f.scope, 'warmup')).some((r) => r.status === 'succeeded'),
      'the startup run succeeded',
    );
    const rows = await runsOf(f.store, f.scope, 'warmup');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ triggerSource: 'startup', status: 'succeeded' });
    expect(calls).toEqual([`startup:${rows[0]!.runId}`]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('close()', () => {
  it('waits for a running handler within its grace, and records its result', async () => {
    const job = defineJob({ id: 'slow-ok' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let startedResolve!: () => void;
    const started = new Promise<void>((resolve) => (startedResolve = resolve));
    const w = worker({
      jobs: [
        {
          definition: job,
          handler: async () => {
            startedResolve();
            await gate;
          },
        },
      ],
      shutdownGrace: '20s',
    });
    await w.start();
    await w.ready();
    const [run] = await f.enqueue(job, [{}]);
    await started;
    let closed = false;
    const closing = w.close().then(() => (closed = true));
    await waitFor(() => w.state === 'closing', 'close() under way');
    expect(closed).toBe(false);
    release();
    await closing;
    expect((await f.store.getRun(run!.runId))?.status).toBe('succeeded');
  });

  it('past its grace aborts the handler and leaves the run running for lease expiry', async () => {
    const job = defineJob({ id: 'slow-stuck' });
    let signal: AbortSignal | undefined;
    let startedResolve!: () => void;
    const started = new Promise<void>((r) => (startedResolve = r));
    const w = worker({
      jobs: [
        {
          definition: job,
          handler: (ctx) => {
            signal = ctx.signal;
            startedResolve();
            return new Promise(() => {});
          },
        },
      ],
      shutdownGrace: '500ms',
    });
    await w.start();
    await w.ready();
    const [run] = await f.enqueue(job, [{}]);
    await started;
    await w.close();
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ code: 'ERR_CLOSED' });
    const row = await f.store.getRun(run!.runId);
    expect(row).toMatchObject({ status: 'running', workerId: w.workerId });
    expect(row!.leaseUntil).not.toBeNull();
    // close() is idempotent.
    await w.close();
    expect(w.state).toBe('closed');
  });
});
