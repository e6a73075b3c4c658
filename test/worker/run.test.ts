import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/define/define-job.js';
import { NonRetryableError, RetryAfterError } from '../../src/errors.js';
import { encodeMessage, messageForRun } from '../../src/broker/envelope.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { runsOf, workerFixture, type WorkerFixture } from './setup.js';

let f: WorkerFixture;

beforeAll(async () => {
  f = await workerFixture('wrun');
});

afterAll(async () => {
  await f?.teardown();
});

function startWorker(jobs: Array<{ definition: any; handler: any }>, extra: Record<string, unknown> = {}): Worker {
  const worker = f.track(createWorker({ pool: f.pool, schema: f.schema, amqpUrl: AMQP_URL, scope: f.scope, jobs, ...extra }));
  void worker.start();
  return worker;
}

describe('createWorker against PostgreSQL and RabbitMQ', () => {
  it('runs a job once per run; the row ends succeeded with its attempt recorded', async () => {
    const job = defineJob({ id: 'hello', params: z.object({ name: z.string() }), overlap: 'allowAll' });
    const seen: Array<{ runId: string; name: string; attempt: number; source: string }> = [];
    const worker = startWorker([
      {
        definition: job,
        handler: async (ctx: any) => {
          seen.push({ runId: ctx.runId, name: ctx.params.name, attempt: ctx.attempt, source: ctx.triggerSource });
        },
      },
    ]);
    await worker.ready();
    const runs = await f.enqueue(job, [{ params: { name: 'a' } }, { params: { name: 'b' } }, { params: { name: 'c' } }]);
    await waitFor(async () => (await runsOf(f.store, f.scope, 'hello')).every((r) => r.status === 'succeeded'), 'three runs succeeded');
    expect(seen.map((s) => s.runId).sort()).toEqual(runs.map((r) => r.runId).sort());
    expect(seen.map((s) => s.name).sort()).toEqual(['a', 'b', 'c']);
    expect(seen.every((s) => s.attempt === 1 && s.source === 'manual')).toBe(true);
    const rows = await runsOf(f.store, f.scope, 'hello');
    for (const row of rows) {
      expect(row.attempts).toHaveLength(1);
      expect(row.attempts[0]).toMatchObject({ attempt: 1, status: 'succeeded', workerId: worker.workerId });
    }
    expect(worker.stats()).toMatchObject({ claimed: 3, succeeded: 3, failed: 0 });
    await worker.close();
  });

  it('a duplicate delivery of the same message runs the handler once', async () => {
    const job = defineJob({ id: 'dup' });
    const calls: string[] = [];
    const worker = startWorker([{ definition: job, handler: async (ctx: any) => void calls.push(ctx.runId) }]);
    await worker.ready();
    const [run] = await f.enqueue(job, [{}]);
    const body = encodeMessage(
      messageForRun(run!, { timeoutMs: job.config.timeoutMs, maxAttempts: job.config.retry.maxAttempts, nextDelaySec: null }),
    );
    // Two more copies: one racing the first, one after it finished.
    await f.transport.publish(f.workQueue(job), body, { messageId: run!.runId });
    await waitFor(async () => (await f.store.getRun(run!.runId))?.status === 'succeeded', 'the run succeeded');
    await f.transport.publish(f.workQueue(job), body, { messageId: run!.runId });
    await waitFor(() => worker.stats().duplicates >= 2, 'both copies dropped as duplicates');
    expect(calls).toEqual([run!.runId]);
    await worker.close();
  });

  it('a throwing handler retries with the backoff and ends dead after maxAttempts, its message in the dead-letter queue', async () => {
    const job = defineJob({ id: 'flaky', retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '1s', jitter: 0 } } });
    const attempts: Array<{ attempt: number; at: number }> = [];
    const worker = startWorker([
      {
        definition: job,
        handler: async (ctx: any) => {
          attempts.push({ attempt: ctx.attempt, at: Date.now() });
          throw new Error(`boom ${ctx.attempt}`);
        },
      },
    ]);
    const retries: Date[] = [];
    worker.on('run:retry', (_info, { retryAt }) => retries.push(retryAt));
    await worker.ready();
    const [run] = await f.enqueue(job, [{}]);
    const row = await waitFor(async () => {
      const r = await f.store.getRun(run!.runId);
      return r?.status === 'dead' ? r : null;
    }, 'the run dead');
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    // "not before": each retry waited at least its 1 s delay.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1000);
    expect(row.attempts.map((a) => a.status)).toEqual(['failed', 'failed', 'dead']);
    expect(row.error).toBe('boom 3');
    expect(retries).toHaveLength(2);
    const dead = await waitFor(async () => {
      const msgs = await f.admin.drain(f.deadQueue(job));
      return msgs.length > 0 ? msgs : null;
    }, 'the dead-lettered message');
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!.content.toString()).run_id).toBe(run!.runId);
    expect(dead[0]!.properties.messageId).toBe(run!.runId);
    expect(dead[0]!.properties.headers?.['x-warren-reason']).toMatch(/failed after 3 attempts: boom 3/);
    expect(dead[0]!.properties.headers?.['x-warren-error']).toBe('boom 3');
    expect(worker.stats()).toMatchObject({ failed: 3, retried: 2, dead: 1, deadLettered: 1 });
    await worker.close();
  });

  it('NonRetryableError is dead at once; RetryAfterError picks its own delay', async () => {
    const fatal = defineJob({ id: 'fatal', retry: { maxAttempts: 5 } });
    const later = defineJob({ id: 'later', retry: { maxAttempts: 5, backoff: { type: 'fixed', delay: '1h' } } });
    const laterCalls: number[] = [];
    let fatalCalls = 0;
    const worker = startWorker([
      {
        definition: fatal,
        handler: async () => {
          fatalCalls += 1;
          throw new NonRetryableError('bad input');
        },
      },
      {
        definition: later,
        handler: async (ctx: any) => {
          laterCalls.push(Date.now());
          // The policy says 1 h; the handler asks for 1 s.
          if (ctx.attempt === 1) throw new RetryAfterError('1s', 'rate limited');
        },
      },
    ]);
    await worker.ready();
    const [f1] = await f.enqueue(fatal, [{}]);
    const [l1] = await f.enqueue(later, [{}]);
    const fatalRow = await waitFor(async () => {
      const r = await f.store.getRun(f1!.runId);
      return r?.status === 'dead' ? r : null;
    }, 'fatal run dead');
    expect(fatalCalls).toBe(1);
    expect(fatalRow.attempts).toHaveLength(1);
    const dead = await waitFor(async () => {
      const msgs = await f.admin.drain(f.deadQueue(fatal));
      return msgs.length > 0 ? msgs : null;
    }, 'the fatal message dead-lettered');
    expect(dead[0]!.properties.headers?.['x-warren-reason']).toMatch(/non-retryable failure: bad input/);
    const laterRow = await waitFor(
      async () => {
        const r = await f.store.getRun(l1!.runId);
        return r?.status === 'succeeded' ? r : null;
      },
      'later run succeeded on its second attempt',
      { timeoutMs: 20_000 },
    );
    expect(laterRow.attempt).toBe(2);
    expect(laterRow.attempts[0]).toMatchObject({ status: 'failed', error: 'rate limited' });
    expect(laterRow.attempts[0]!.retryAt!.getTime() - laterRow.attempts[0]!.finishedAt.getTime()).toBe(1000);
    expect(laterCalls[1]! - laterCalls[0]!).toBeGreaterThanOrEqual(1000);
    await worker.close();
  });

  it('a timeout aborts the signal; a handler ignoring it is recorded timed_out after timeoutGrace', async () => {
    const polite = defineJob({ id: 'polite', timeout: '1s', retry: { maxAttempts: 1 } });
    const stubborn = defineJob({ id: 'stubborn', timeout: '1s', retry: { maxAttempts: 1 } });
    const reasons: unknown[] = [];
    const worker = startWorker(
      [
        {
          definition: polite,
          handler: (ctx: any) =>
            new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                reasons.push(ctx.signal.reason);
                reject(ctx.signal.reason);
              });
            }),
        },
        // Never settles and never looks at the signal.
        { definition: stubborn, handler: () => new Promise(() => {}) },
      ],
      { timeoutGrace: '500ms' },
    );
    await worker.ready();
    const [p] = await f.enqueue(polite, [{}]);
    const [s] = await f.enqueue(stubborn, [{}]);
    const politeRow = await waitFor(async () => {
      const r = await f.store.getRun(p!.runId);
      return r?.status === 'timed_out' ? r : null;
    }, 'polite run timed_out');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(politeRow.error).toMatch(/timed out after 1s/);
    const stubbornRow = await waitFor(async () => {
      const r = await f.store.getRun(s!.runId);
      return r?.status === 'timed_out' ? r : null;
    }, 'stubborn run timed_out');
    expect(stubbornRow.finishedAt!.getTime() - stubbornRow.startedAt!.getTime()).toBeGreaterThanOrEqual(1500);
    const dead = await waitFor(async () => {
      const msgs = await f.admin.drain(f.deadQueue(stubborn));
      return msgs.length > 0 ? msgs : null;
    }, 'the timed-out message dead-lettered');
    expect(dead[0]!.properties.headers?.['x-warren-status']).toBe('timed_out');
    await worker.close();
  });
});
