/**
 * Queue handlers against PostgreSQL and RabbitMQ: jobs that exist only in the store
 * (created through the control API, as over REST or Telegram) run on a worker that takes
 * their queue, with their stored settings; a job's own definition wins for its id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MemoryTransport } from '../../src/broker/memory-transport.js';
import { defineJob } from '../../src/define/define-job.js';
import type { JobContext } from '../../src/define/types.js';
import { deadQueueName, workQueueName } from '../../src/names.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { RunRecord } from '../../src/store/port.js';
import { createWorker, type Worker, type WorkerOptions } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { thrownBy } from '../helpers/errors.js';
import { waitFor } from '../helpers/wait.js';
import { runsOf, workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;
let scheduler: Scheduler;

beforeAll(async () => {
  f = await workerFixture('wqueue');
  scheduler = createScheduler({ pool: f.pool, schema: f.schema, amqpUrl: AMQP_URL, scope: f.scope, instanceId: 'qh-scheduler' });
  scheduler.on('error', () => {});
  await scheduler.start();
});

afterAll(async () => {
  await scheduler?.close();
  await f?.teardown();
});

function worker(extra: Partial<WorkerOptions> = {}): Worker {
  return f.track(createWorker({ pool: f.pool, schema: f.schema, amqpUrl: AMQP_URL, scope: f.scope, ...extra }));
}

/** The seed's §10 price-monitor body (queue `{scope}.jobs.price-monitor`), with its action. */
function priceMonitorBody(jobId: string, action: string, cron: string) {
  return {
    job_id: jobId,
    queue: `${f.scope}.jobs.price-monitor`,
    cron_expr: cron,
    reschedule_mode: 'queue',
    default_params: { action, interval_seconds: 86400 },
    enabled: true,
  };
}

async function finalRun(runId: string, status: RunRecord['status']): Promise<RunRecord> {
  return waitFor(async () => {
    const run = await f.store.getRun(runId);
    return run?.status === status ? run : null;
  }, `run ${runId} ${status}`);
}

async function deadLetters(queue: string, count: number) {
  const seen: Awaited<ReturnType<typeof f.admin.drain>> = [];
  await waitFor(async () => {
    seen.push(...(await f.admin.drain(deadQueueName(workQueueName(f.scope, queue)))));
    return seen.length >= count;
  }, `${count} dead letter(s) on ${queue}`);
  return seen;
}

describe('worker.handleQueue (real PostgreSQL and RabbitMQ)', () => {
  it('a job upserted from the seed body, with no defineJob anywhere, runs on a worker that only handles its queue', async () => {
    await scheduler.upsert(priceMonitorBody('mock-price-start', 'start', '0 0 * * *'), { actor: 'http' });
    const seen: JobContext<unknown>[] = [];
    const w = worker().handleQueue('price-monitor', (ctx) => void seen.push(ctx));
    await w.start();
    await w.ready();
    const run = await scheduler.runNow('mock-price-start');
    const row = await finalRun(run.runId, 'succeeded');
    expect(seen).toHaveLength(1);
    const ctx = seen[0]!;
    expect(ctx).toMatchObject({
      jobId: 'mock-price-start',
      scope: f.scope,
      runId: run.runId,
      attempt: 1,
      maxAttempts: 3,
      triggerSource: 'manual',
      params: { action: 'start', interval_seconds: 86400 },
    });
    expect(ctx.scheduledFor).toEqual(run.scheduledFor);
    expect(ctx.signal.aborted).toBe(false);
    expect(typeof ctx.log.info).toBe('function');
    expect(row.attempts).toEqual([expect.objectContaining({ attempt: 1, status: 'succeeded', workerId: w.workerId })]);
    expect(w.stats()).toMatchObject({ claimed: 1, succeeded: 1, deadLettered: 0 });
    await w.close();
  });

  it('two jobs sharing one queue each run with their own default_params.action, typed by the params schema', async () => {
    await scheduler.upsert(priceMonitorBody('mock-price-stop', 'stop', '0 1 * * *'));
    const actions: Array<{ jobId: string; action: 'start' | 'stop'; every: number }> = [];
    const params = z.object({ action: z.enum(['start', 'stop']), interval_seconds: z.number().int() });
    const w = worker().handleQueue(
      'price-monitor',
      (ctx) => void actions.push({ jobId: ctx.jobId, action: ctx.params.action, every: ctx.params.interval_seconds }),
      { params },
    );
    await w.start();
    await w.ready();
    const start = await scheduler.runNow('mock-price-start');
    const stop = await scheduler.runNow('mock-price-stop');
    await finalRun(start.runId, 'succeeded');
    await finalRun(stop.runId, 'succeeded');
    expect(actions.sort((a, b) => a.jobId.localeCompare(b.jobId))).toEqual([
      { jobId: 'mock-price-start', action: 'start', every: 86400 },
      { jobId: 'mock-price-stop', action: 'stop', every: 86400 },
    ]);
    await w.close();
  });

  it('params the queue handler schema rejects: the run is dead naming the field, dead-lettered, the handler never called', async () => {
    await scheduler.upsert({ ...priceMonitorBody('mock-price-jump', 'jump', '0 2 * * *'), queue: `${f.scope}.jobs.strict-monitor` });
    let calls = 0;
    const w = worker({
      queues: [{ queue: 'strict-monitor', handler: () => void (calls += 1), params: z.object({ action: z.enum(['start', 'stop']) }) }],
    });
    await w.start();
    await w.ready();
    const run = await scheduler.runNow('mock-price-jump');
    const row = await finalRun(run.runId, 'dead');
    expect(calls).toBe(0);
    expect(row.attempt).toBe(1);
    expect(row.error).toMatch(
      /invalid params: Invalid `params\.action`: expected a value the `params` schema of queue `strict-monitor` accepts .*got "jump"/,
    );
    const [dead] = await deadLetters('strict-monitor', 1);
    expect(dead!.properties.headers?.['x-warren-reason']).toMatch(/^non-retryable failure: invalid params: Invalid `params\.action`/);
    expect(dead!.properties.headers?.['x-warren-job']).toBe('mock-price-jump');
    await w.close();
  });

  it('a message for a job with neither a definition nor a queue handler is dead-lettered naming the job and the queue', async () => {
    const alpha = defineJob({ id: 'alpha', queue: 'defined-only' });
    const w = worker({ jobs: [{ definition: alpha, handler: () => {} }] }).handleQueue('elsewhere', () => {});
    await w.start();
    await w.ready();
    // Defined in another service's code, routed to the same queue.
    await f.enqueue(defineJob({ id: 'ghost', queue: 'defined-only' }), [{}]);
    const [dead] = await deadLetters('defined-only', 1);
    expect(dead!.properties.headers?.['x-warren-reason']).toBe(
      `unknown job ghost on queue ${workQueueName(f.scope, 'defined-only')} (no job definition or queue handler for it here)`,
    );
    await w.close();
  });

  it('a code definition on a handled queue keeps its typed handler for its own id; the queue handler runs the others', async () => {
    const typed = defineJob({ id: 'typed-monitor', queue: 'mixed', params: z.object({ n: z.number() }), defaultParams: { n: 7 } });
    await scheduler.upsert({ id: 'loose-monitor', queue: 'mixed', defaultParams: { n: 'any' } });
    const byDefinition: Array<{ jobId: string; n: number }> = [];
    const byQueue: string[] = [];
    const w = worker({
      jobs: [
        { definition: typed, handler: (ctx: JobContext<{ n: number }>) => void byDefinition.push({ jobId: ctx.jobId, n: ctx.params.n }) },
      ],
    });
    w.handleQueue('mixed', (ctx) => void byQueue.push(ctx.jobId));
    await w.start();
    await w.ready();
    const [typedRun] = await f.enqueue(typed, [{}]);
    const loose = await scheduler.runNow('loose-monitor');
    await finalRun(typedRun!.runId, 'succeeded');
    await finalRun(loose.runId, 'succeeded');
    expect(byDefinition).toEqual([{ jobId: 'typed-monitor', n: 7 }]);
    expect(byQueue).toEqual(['loose-monitor']);
    await w.close();
  });

  it("a store-only job's retries and timeout follow its stored policy", async () => {
    await scheduler.upsert({
      id: 'flaky-store',
      queue: 'flaky',
      timeout: '1s',
      retry: { maxAttempts: 2, backoff: { type: 'fixed', delay: '1s', jitter: 0 } },
    });
    const attempts: Array<{ attempt: number; maxAttempts: number }> = [];
    const w = worker({ timeoutGrace: 0 }).handleQueue('flaky', async (ctx) => {
      attempts.push({ attempt: ctx.attempt, maxAttempts: ctx.maxAttempts });
      if (ctx.attempt === 1) throw new Error('boom');
      // The second attempt waits for its signal: the stored 1 s timeout aborts it.
      await new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }),
      );
    });
    await w.start();
    await w.ready();
    const run = await scheduler.runNow('flaky-store');
    const row = await finalRun(run.runId, 'timed_out');
    expect(attempts.map((a) => [a.attempt, a.maxAttempts])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(row.attempts.map((a) => a.status)).toEqual(['failed', 'timed_out']);
    // The stored backoff (fixed 1 s, no jitter) set the retry, and attempt 2 did not start before it.
    const [first, second] = row.attempts;
    expect(first!.retryAt!.getTime() - first!.finishedAt!.getTime()).toBe(1000);
    expect(second!.startedAt!.getTime()).toBeGreaterThanOrEqual(first!.retryAt!.getTime());
    const [dead] = await deadLetters('flaky', 1);
    expect(dead!.properties.headers?.['x-warren-reason']).toMatch(/^timed out on attempt 2: job flaky-store timed out after 1s/);
    await w.close();
  });

  it("a store-only queue-mode job's chain carries on from the worker", async () => {
    const links: string[] = [];
    const w = worker().handleQueue('chained', (ctx) => void links.push(ctx.triggerSource));
    await w.start();
    await w.ready();
    await scheduler.upsert({ id: 'chain-store', queue: 'chained', schedule: { every: '1s' }, reschedule: 'queue' });
    await waitFor(() => links.filter((s) => s === 'chain').length >= 2, 'two chain links after the seed');
    await scheduler.pause('chain-store');
    await w.close();
  });

  it('a store-only runOnStartup job gets its startup run when a worker for its queue boots', async () => {
    await scheduler.upsert({ id: 'boot-store', queue: 'booting', runOnStartup: true });
    const sources: string[] = [];
    const w = worker().handleQueue('booting', (ctx) => void sources.push(`${ctx.jobId}:${ctx.triggerSource}`));
    await w.start();
    await waitFor(
      async () => (await runsOf(f.store, f.scope, 'boot-store')).some((r) => r.triggerSource === 'startup' && r.status === 'succeeded'),
      'the startup run succeeded',
    );
    expect(sources).toEqual(['boot-store:startup']);
    await w.close();
  });
});

describe('handleQueue arguments', () => {
  const base = { store: new MemoryStore(), transport: new MemoryTransport(), scope: 'args' };
  it.each([
    ['a bad queue name', () => createWorker(base).handleQueue('Bad Queue', () => {}), 'queue', /expected 1-100 characters/],
    [
      'a handler that is not a function',
      () => createWorker(base).handleQueue('q', 'nope' as never),
      'handler',
      /expected a handler function/,
    ],
    [
      'a params option that is not a schema',
      () => createWorker(base).handleQueue('q', () => {}, { params: { action: 'string' } as never }),
      'options.params',
      /expected a Standard Schema/,
    ],
    ['a bad scope', () => createWorker(base).handleQueue('q', () => {}, { scope: 'Nope!' }), 'options.scope', /expected 1-40 characters/],
    [
      'an unknown option',
      () => createWorker(base).handleQueue('q', () => {}, { concurency: 2 } as never),
      'options.concurency',
      /unknown option/,
    ],
    [
      'the same queue twice',
      () =>
        createWorker(base)
          .handleQueue('q', () => {})
          .handleQueue('q', () => {}),
      'queue',
      /already has a handler/,
    ],
  ])('%s → ERR_INVALID_ARGUMENT naming the field', (_name, fn, field, message) => {
    const err = thrownBy(fn);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field });
    expect(err.message).toMatch(message);
  });

  it('the queues option is checked the same way, naming the entry', () => {
    expect(thrownBy(() => createWorker({ ...base, queues: [{ queue: 'q' } as never] }))).toMatchObject({
      code: 'ERR_INVALID_OPTION',
      field: 'queues.0.handler',
    });
    const err = thrownBy(() =>
      createWorker({
        ...base,
        queues: [
          { queue: 'q', handler: () => {} },
          { queue: 'r', handler: () => {}, params: 'zod' as never },
        ],
      }),
    );
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTION', field: 'queues.1.params' });
    expect(err.message).toBe('Invalid worker option `queues.1.params`: expected a Standard Schema (zod, valibot, ArkType, ...), got "zod"');
  });

  it('refuses a registration after start', async () => {
    const w = createWorker(base);
    await w.start();
    expect(thrownBy(() => w.handleQueue('late', () => {}))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'queue' });
    await w.close();
  });

  it('params are unknown without a schema and typed by it with one', () => {
    const w = createWorker(base);
    w.handleQueue('untyped', (ctx) => {
      // @ts-expect-error unknown until checked
      void ctx.params.action;
    });
    w.handleQueue('typed', (ctx) => void (ctx.params.action satisfies 'start' | 'stop'), {
      params: z.object({ action: z.enum(['start', 'stop']) }),
    });
    expect(w.state).toBe('idle');
  });
});
