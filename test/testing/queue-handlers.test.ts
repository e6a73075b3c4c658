/**
 * The harness with queue handlers: jobs that exist only in the store (upserted as over
 * REST) run on the fake clock through a handler for their queue.
 */
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/define/define-job.js';
import { createTestHarness } from '../../src/testing/harness.js';
import { thrownBy } from '../helpers/errors.js';
import { harnessStarter } from './started.js';

const started = harnessStarter();

const action = z.object({ action: z.enum(['start', 'stop']), interval_seconds: z.number() });

/** The seed's §10.2 mock price-monitor bodies. */
const seedBody = (jobId: string, act: string, cron: string) => ({
  job_id: jobId,
  queue: 'mock.jobs.price-monitor',
  cron_expr: cron,
  reschedule_mode: 'queue',
  default_params: { action: act, interval_seconds: 86400 },
  enabled: true,
});

describe('harness queue handlers', () => {
  test("the seed's price-monitor start and stop, upserted with no defineJob, run on their crons with their own action", async () => {
    const seen: string[] = [];
    const h = await started({
      scope: 'mock',
      start: '2025-01-05T12:00:00Z',
      queues: {
        'price-monitor': {
          params: action,
          handler: (ctx) => void seen.push(`${ctx.scheduledFor.toISOString()} ${ctx.jobId} ${ctx.params.action}`),
        },
      },
    });
    await h.upsert(seedBody('mock-price-start', 'start', '0 0 * * *'));
    await h.upsert(seedBody('mock-price-stop', 'stop', '0 1 * * *'));
    await h.advance('2d');
    expect(seen).toEqual([
      '2025-01-06T00:00:00.000Z mock-price-start start',
      '2025-01-06T01:00:00.000Z mock-price-stop stop',
      '2025-01-07T00:00:00.000Z mock-price-start start',
      '2025-01-07T01:00:00.000Z mock-price-stop stop',
    ]);
  });

  test('failNext on a store-only job retries it with its stored backoff; a params failure is in deadLetters()', async () => {
    const h = await started({ scope: 'mock', queues: { 'price-monitor': { params: action, handler: () => {} } } });
    await h.upsert({
      id: 'flaky',
      queue: 'price-monitor',
      defaultParams: { action: 'start', interval_seconds: 60 },
      retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '10s', jitter: 0 } },
    });
    h.failNext('flaky', 2);
    const run = await h.waitFor((await h.runNow('flaky')).runId);
    expect(run.status).toBe('succeeded');
    expect(run.attempts.map((a) => a.status)).toEqual(['failed', 'failed', 'succeeded']);
    expect(run.attempts.slice(0, 2).map((a) => a.retryAt!.getTime() - a.finishedAt!.getTime())).toEqual([10_000, 10_000]);

    await h.upsert(seedBody('mock-price-jump', 'jump', '0 2 * * *'));
    const bad = await h.waitFor((await h.runNow('mock-price-jump')).runId);
    expect(bad.status).toBe('dead');
    const [dead] = h.deadLetters('mock-price-jump');
    expect(dead!.queue).toBe('mock.jobs.price-monitor.dead');
    expect(dead!.reason).toMatch(/^non-retryable failure: invalid params: Invalid `params\.action`/);
  });

  test('a job in `jobs` keeps its own handler on a handled queue', async () => {
    const ran: string[] = [];
    const typed = defineJob({ id: 'typed', queue: 'shared' });
    const h = await started({
      jobs: [{ definition: typed, handler: (ctx) => void ran.push(`definition ${ctx.jobId}`) }],
      queues: { shared: (ctx) => void ran.push(`queue ${ctx.jobId}`) },
    });
    await h.upsert({ id: 'loose', queue: 'shared' });
    await h.waitFor((await h.runNow('typed')).runId);
    await h.waitFor((await h.runNow('loose')).runId);
    expect(ran).toEqual(['definition typed', 'queue loose']);
  });

  test('a bad queue entry fails at construction, naming it', () => {
    expect(thrownBy(() => createTestHarness({ queues: { 'price-monitor': { handler: () => {}, params: 'zod' as never } } }))).toEqual({
      code: 'ERR_INVALID_OPTION',
      field: 'queues.price-monitor.params',
      message: 'Invalid harness option `queues.price-monitor.params`: expected a Standard Schema (zod, valibot, ArkType, ...), got "zod"',
    });
  });
});
