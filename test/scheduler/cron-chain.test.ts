/**
 * A cron is a cron in queue mode too, on the real PostgreSQL and RabbitMQ: each link of a
 * seed-style chain lands on the next cron slot after the run before it, and pause/resume
 * keeps one chain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRun } from '../../src/define/schedule.js';
import type { NormalizedSchedule } from '../../src/define/types.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import type { RunRecord } from '../../src/store/port.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const SEOUL = 'Asia/Seoul';
const EVEN_SECONDS: NormalizedSchedule = { kind: 'cron', cron: '*/2 * * * * *', tz: SEOUL };

describe('queue-mode cron chains (real PostgreSQL and RabbitMQ, real clock)', () => {
  let fx: SchedulerFixture;
  let real: Scheduler;
  let worker: Worker;

  const succeeded = async (jobId: string): Promise<RunRecord[]> => (await fx.runsOf(jobId)).filter((r) => r.status === 'succeeded');
  const live = async (jobId: string): Promise<RunRecord[]> =>
    (await fx.runsOf(jobId)).filter((r) => r.status === 'pending' || r.status === 'running');

  beforeAll(async () => {
    fx = await schedulerFixture('cronchain');
    const { pool } = await fx.pool(`${fx.scope}-sched`);
    real = createScheduler({
      pool,
      schema: fx.schema,
      scope: fx.scope,
      amqpUrl: AMQP_URL,
      timezone: SEOUL,
      leaseTtl: '5s',
      safetyTick: '500ms',
      outboxGrace: '1s',
    });
    real.on('error', () => {});
    const w = await fx.pool(`${fx.scope}-worker`);
    // The job exists only in the store (posted below): the worker takes its queue.
    worker = createWorker({
      pool: w.pool,
      schema: fx.schema,
      amqpUrl: AMQP_URL,
      scope: fx.scope,
      timezone: SEOUL,
      queues: [{ queue: 'even', handler: () => {} }],
    });
    await real.start();
    await worker.start();
  });

  afterAll(async () => {
    await worker?.close();
    await real?.close();
    await fx?.teardown();
  });

  /** Each link's slot is the cron's next slot after the run before it finished. */
  const expectCronLinks = (runs: RunRecord[]) => {
    for (const [i, run] of runs.entries()) {
      expect(run.scheduledFor.getTime() % 2000).toBe(0);
      expect(run.startedAt!.getTime()).toBeGreaterThanOrEqual(run.scheduledFor.getTime());
      if (i > 0) {
        expect(run.triggerSource).toBe('chain');
        expect(run.scheduledFor.toISOString()).toBe(nextRun(EVEN_SECONDS, runs[i - 1]!.finishedAt!).toISOString());
      }
    }
  };

  it('chains each link to the next cron slot after the run before it', async () => {
    // The interval is the period for staleness (TTL 48 s), not the firing time: the cron decides.
    const created = await real.upsert({
      job_id: 'even',
      queue: `${fx.scope}.jobs.even`,
      cron_expr: '*/2 * * * * *',
      reschedule_mode: 'queue',
      interval_seconds: 60,
    });
    expect(created.schedule).toEqual(EVEN_SECONDS);
    expect(created.nextDueAt!.getTime() % 2000).toBe(0);
    const runs = await waitFor(async () => {
      const done = await succeeded('even');
      return done.length >= 3 && done;
    }, 'three runs of the chain');
    expect(runs[0]!.scheduledFor.toISOString()).toBe(created.nextDueAt!.toISOString());
    expect(runs[0]!.triggerSource).toBe('scheduler');
    expectCronLinks(runs);
  });

  it('pause stops the chain; resume seeds one new chain at the next cron slot', async () => {
    const paused = await real.pause('even', { note: 'test' });
    expect(paused.paused).toBe(true);
    // The link in flight dies at its claim (stale epoch) instead of running.
    await waitFor(async () => (await live('even')).length === 0, 'the paused chain to die');
    const before = (await succeeded('even')).length;
    const resumedAt = Date.now();
    const resumed = await real.resume('even');
    expect(resumed.nextDueAt!.getTime() % 2000).toBe(0);
    expect(resumed.nextDueAt!.getTime()).toBeGreaterThan(resumedAt - 1000);
    const after = await waitFor(async () => {
      const done = (await succeeded('even')).slice(before);
      return done.length >= 3 && done;
    }, 'three runs after resume');
    expect(after[0]!.scheduledFor.toISOString()).toBe(resumed.nextDueAt!.toISOString());
    expect(after[0]!.triggerSource).toBe('scheduler');
    expectCronLinks(after);
    // One chain: every run left alive is of the resumed epoch, and there is at most one.
    const alive = await live('even');
    expect(alive.length).toBeLessThanOrEqual(1);
    expect(alive.every((r) => r.epoch === resumed.job.epoch)).toBe(true);
    const all = await fx.runsOf('even');
    expect(new Set(all.map((r) => r.scheduledFor.getTime())).size).toBe(all.length);
    expect(all.filter((r) => r.status === 'cancelled').length).toBeLessThanOrEqual(1);
    await real.pause('even');
  });
});
